//! Stable JSON-RPC error codes. Each error's message says what went wrong and what to do;
//! `data` carries details a program can use.

use jsonrpsee::types::ErrorObjectOwned;
use serde_json::Value;

use crate::extrinsic::ExtrinsicError;

/// Every error the node's API returns, with its stable code (`-32602`, invalid params, is
/// also used by jsonrpsee for arguments that do not parse, such as a bad SS58 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The extrinsic does not decode (bad bytes, unknown call, trailing bytes, other version).
    Malformed = 1001,
    /// The extrinsic exceeds [`crate::MAX_EXTRINSIC_SIZE`].
    Oversized = 1002,
    /// The signature does not verify.
    BadSignature = 1003,
    /// The extrinsic is signed for another network.
    WrongNetwork = 1004,
    /// The nonce was already used (a replay, or a resubmission).
    StaleNonce = 1005,
    /// The nonce is ahead of the account's next nonce.
    FutureNonce = 1006,
    /// A sudo call not signed by the root key.
    NotRoot = 1007,
    /// The chain rules refused the call; `data.error` names the rule.
    Refused = 1010,
    /// No such block.
    BlockNotFound = 1020,
    /// The node is stopping or its block production stopped.
    Unavailable = 1030,
    /// Storage failed inside the node.
    Internal = 1031,
}

impl ErrorCode {
    /// The numeric code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The variant for a numeric code, if it is one of ours.
    pub fn from_code(code: i32) -> Option<Self> {
        use ErrorCode::*;
        [
            Malformed,
            Oversized,
            BadSignature,
            WrongNetwork,
            StaleNonce,
            FutureNonce,
            NotRoot,
            Refused,
            BlockNotFound,
            Unavailable,
            Internal,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// An API error: a code, a message that says what to do, optional details.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The stable code.
    pub code: ErrorCode,
    /// What happened and what to do.
    pub message: String,
    /// Details for programs.
    pub data: Option<Value>,
}

impl RpcError {
    /// An error without details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds details.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The API error of a client call, if the server answered with one of our codes.
    pub fn from_client(err: &jsonrpsee::core::ClientError) -> Option<Self> {
        let jsonrpsee::core::ClientError::Call(object) = err else {
            return None;
        };
        Some(Self {
            code: ErrorCode::from_code(object.code())?,
            message: object.message().to_string(),
            data: object.data().and_then(|raw| serde_json::from_str(raw.get()).ok()),
        })
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code.code())
    }
}

impl std::error::Error for RpcError {}

impl From<RpcError> for ErrorObjectOwned {
    fn from(err: RpcError) -> Self {
        ErrorObjectOwned::owned(err.code.code(), err.message, err.data)
    }
}

impl From<ExtrinsicError> for RpcError {
    fn from(err: ExtrinsicError) -> Self {
        let code = match &err {
            ExtrinsicError::Oversized { .. } => ErrorCode::Oversized,
            ExtrinsicError::Version(_) | ExtrinsicError::Malformed(_) => ErrorCode::Malformed,
            ExtrinsicError::BadSignature(_) => ErrorCode::BadSignature,
        };
        let hint = match code {
            ErrorCode::BadSignature => "; sign the extrinsic with the signer's own key",
            ErrorCode::Oversized => "; split the payload or shorten the evidence",
            _ => "",
        };
        Self::new(code, format!("{err}{hint}"))
    }
}
