//! What a user sends a TSS to have a message signed by its child key, and what it gets back.
//! A client needs only this module (and [`verify_reply`] to check the answer against the parent
//! key alone): no server, keystore or peer transport comes with it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecdsa::signature::hazmat::PrehashVerifier;
use keywheel_chain::encoding::hex_vec;
use keywheel_chain::AccountId;
use keywheel_mpc::child_key::{account_path, child_verifying_key, eth_address, eth_address_string};
use keywheel_mpc::{PartySignature, PartySigner, ProductionParams};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sha3::Keccak256;

use crate::Bytes;

/// The sr25519 signing context of sign requests.
pub const SIGN_REQUEST_CONTEXT: &[u8] = keywheel_primitives::domain::SIGN_REQUEST;
/// The longest a request may stay valid.
pub const MAX_VALIDITY: Duration = Duration::from_secs(600);
/// The largest message a request may carry (larger ones: send their hash).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// What a user asks the network to sign, signed by the user's account key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// The registered account whose child key signs.
    pub account: AccountId,
    /// The message; what is signed is its Keccak-256 hash (as Ethereum signs a transaction's
    /// encoding). Exactly one of `message` and `hash` is given.
    #[serde(default)]
    pub message: Option<Bytes>,
    /// A 32-byte hash to sign as it is.
    #[serde(default)]
    pub hash: Option<Bytes>,
    /// 16 bytes the user picks at random: two requests never share them.
    #[serde(with = "hex_vec")]
    pub request_id: Vec<u8>,
    /// Unix time (ms) after which the request is void (at most [`MAX_VALIDITY`] ahead).
    pub expires_at_ms: u64,
    /// The account's sr25519 signature over everything above, bound to the network.
    #[serde(with = "hex_vec")]
    pub signature: Vec<u8>,
}

/// What the signature of a request covers.
#[derive(Serialize)]
struct RequestPayload<'a> {
    domain: &'static str,
    genesis_hash: &'a [u8; 32],
    account: &'a AccountId,
    prehash: &'a [u8; 32],
    request_id: &'a [u8],
    expires_at_ms: u64,
}

/// Why a sign request gets no signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SignError {
    /// The request is not well formed.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The user's signature does not verify.
    #[error(
        "the request's signature does not verify for account {0}; sign it with that account's key for this network"
    )]
    BadSignature(AccountId),
    /// Expired, or valid for too long.
    #[error("the request is expired or valid for too long: {0}")]
    Expiry(String),
    /// The same request was seen before.
    #[error("this request was already handled (same request_id); send a new one")]
    Replay,
    /// The account is not registered on chain.
    #[error("account {0} is not registered; submit `register` from it first")]
    Unregistered(AccountId),
    /// No parent key yet, or not enough reachable committee members.
    #[error("cannot sign now: {0}")]
    Unavailable(String),
    /// Every round failed.
    #[error("signing failed: {0}")]
    Failed(String),
    /// The TSS has as much signing work as it takes now; ask again after `retry_after_s`
    /// seconds, or ask another TSS.
    #[error("busy: {reason}; try again in {retry_after_s} s or ask another TSS")]
    Busy {
        /// What is full.
        reason: String,
        /// Seconds after which a retry is likely to be admitted.
        retry_after_s: u64,
    },
    /// The account has as many requests waiting at this TSS as it may; ask again after
    /// `retry_after_s` seconds.
    #[error("account {account} has as many requests in flight here as it may; try again in {retry_after_s} s")]
    Quota {
        /// The account.
        account: AccountId,
        /// Seconds after which a retry is likely to be admitted.
        retry_after_s: u64,
    },
}

impl SignError {
    /// Seconds after which a retry is likely to succeed, for the refusals that say so.
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            SignError::Busy { retry_after_s, .. } | SignError::Quota { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        }
    }
}

/// What to sign.
#[derive(Debug, Clone)]
pub enum ToSign {
    /// A message (its Keccak-256 hash is signed).
    Message(Vec<u8>),
    /// A 32-byte hash.
    Hash([u8; 32]),
}

impl SignRequest {
    /// A request signed by `user` for the network `genesis_hash`.
    pub fn new(
        user: &PartySigner,
        genesis_hash: [u8; 32],
        what: ToSign,
        request_id: [u8; 16],
        expires_at_ms: u64,
    ) -> Self {
        let (message, hash) = match what {
            ToSign::Message(m) => (Some(Bytes(m)), None),
            ToSign::Hash(h) => (None, Some(Bytes(h.to_vec()))),
        };
        let mut request = Self {
            account: user.account(),
            message,
            hash,
            request_id: request_id.to_vec(),
            expires_at_ms,
            signature: Vec::new(),
        };
        let prehash = request.prehash().expect("a request built here is well formed");
        request.signature = user
            .sign(SIGN_REQUEST_CONTEXT, &request.payload(&genesis_hash, &prehash))
            .0
            .to_vec();
        request
    }

    /// The 32 bytes that are signed.
    pub fn prehash(&self) -> Result<[u8; 32], SignError> {
        match (&self.message, &self.hash) {
            (Some(message), None) => {
                if message.0.len() > MAX_MESSAGE_BYTES {
                    return Err(SignError::Malformed(format!(
                        "the message is {} bytes; the limit is {MAX_MESSAGE_BYTES} (send its hash instead)",
                        message.0.len()
                    )));
                }
                Ok(Keccak256::digest(&message.0).into())
            }
            (None, Some(hash)) => hash
                .0
                .as_slice()
                .try_into()
                .map_err(|_| SignError::Malformed(format!("the hash is {} bytes, not 32", hash.0.len()))),
            _ => Err(SignError::Malformed("give exactly one of `message` and `hash`".into())),
        }
    }

    fn payload(&self, genesis_hash: &[u8; 32], prehash: &[u8; 32]) -> Vec<u8> {
        postcard::to_allocvec(&RequestPayload {
            domain: keywheel_primitives::domain::SIGN_REQUEST_PAYLOAD,
            genesis_hash,
            account: &self.account,
            prehash,
            request_id: &self.request_id,
            expires_at_ms: self.expires_at_ms,
        })
        .expect("plain data serializes")
    }

    /// The request's hash: names it in signing sessions and replay caches.
    pub fn hash(&self, genesis_hash: &[u8; 32]) -> Result<[u8; 32], SignError> {
        let prehash = self.prehash()?;
        Ok(Sha256::digest(self.payload(genesis_hash, &prehash)).into())
    }

    /// The checks that need no state: form, expiry at `now_ms`, the user's signature. Returns
    /// the prehash to sign.
    pub fn check(&self, genesis_hash: &[u8; 32], now_ms: u64) -> Result<[u8; 32], SignError> {
        let prehash = self.prehash()?;
        if self.request_id.len() != 16 {
            return Err(SignError::Malformed("request_id must be 16 bytes".into()));
        }
        if self.expires_at_ms <= now_ms {
            return Err(SignError::Expiry("it has expired".into()));
        }
        if self.expires_at_ms > now_ms + MAX_VALIDITY.as_millis() as u64 {
            return Err(SignError::Expiry(format!(
                "it may be valid for at most {MAX_VALIDITY:?}"
            )));
        }
        let signature: [u8; 64] = self
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| SignError::Malformed("the signature must be 64 bytes".into()))?;
        let valid = self.account.verify(
            SIGN_REQUEST_CONTEXT,
            &self.payload(genesis_hash, &prehash),
            &PartySignature(signature),
        );
        if !valid {
            return Err(SignError::BadSignature(self.account));
        }
        Ok(prehash)
    }
}

/// A recoverable signature by a child key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureReply {
    /// `r`, 32 bytes big-endian.
    #[serde(with = "hex_vec")]
    pub r: Vec<u8>,
    /// `s`, 32 bytes big-endian, in the lower half.
    #[serde(with = "hex_vec")]
    pub s: Vec<u8>,
    /// Recovery id (0 or 1; Ethereum's `v` is this + 27).
    pub v: u8,
    /// The child verifying key (compressed SEC1).
    #[serde(with = "hex_vec")]
    pub child_key: Vec<u8>,
}

/// What `POST /v1/sign` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignResponse {
    /// The signature.
    #[serde(flatten)]
    pub signature: SignatureReply,
    /// The child key's Ethereum address (EIP-55).
    pub address: String,
    /// The 32 bytes that were signed.
    #[serde(with = "hex_vec")]
    pub prehash: Vec<u8>,
    /// Who signed.
    pub signers: Vec<AccountId>,
    /// Which round succeeded (0 = the first).
    pub round: u32,
}

/// Checks `reply` for `account` against the parent key alone: the child key is derived from
/// `parent_key`, the signature must verify under it and `v` must recover it. Returns the
/// child key's address.
pub fn verify_reply(
    parent_key: &[u8],
    account: &AccountId,
    prehash: &[u8; 32],
    reply: &SignatureReply,
) -> Result<String, String> {
    let parent = k256::ecdsa::VerifyingKey::from_sec1_bytes(parent_key).map_err(|e| format!("parent key: {e}"))?;
    let child = child_verifying_key::<ProductionParams>(&parent, &account_path(account)).map_err(|e| e.to_string())?;
    let child_bytes = child.to_encoded_point(true).as_bytes().to_vec();
    if child_bytes != reply.child_key {
        return Err("the reply names another child key".into());
    }
    let r: [u8; 32] = reply.r.as_slice().try_into().map_err(|_| "r is not 32 bytes")?;
    let s: [u8; 32] = reply.s.as_slice().try_into().map_err(|_| "s is not 32 bytes")?;
    let signature = k256::ecdsa::Signature::from_scalars(r, s).map_err(|e| format!("signature: {e}"))?;
    child
        .verify_prehash(prehash, &signature)
        .map_err(|_| "the signature does not verify under the child key".to_string())?;
    let recovery = k256::ecdsa::RecoveryId::from_byte(reply.v).ok_or("v is not 0 or 1")?;
    let recovered = k256::ecdsa::VerifyingKey::recover_from_prehash(prehash, &signature, recovery)
        .map_err(|e| format!("recovery: {e}"))?;
    if recovered != child {
        return Err("v does not recover the child key".into());
    }
    Ok(eth_address_string(&eth_address(&child)))
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> PartySigner {
        PartySigner::from_seed(&[9; 32])
    }

    const GENESIS: [u8; 32] = [1; 32];
    const NOW: u64 = 1_000_000;

    fn request() -> SignRequest {
        SignRequest::new(
            &user(),
            GENESIS,
            ToSign::Message(b"hello".to_vec()),
            [3; 16],
            NOW + 60_000,
        )
    }

    #[test]
    fn a_signed_request_checks_and_every_alteration_is_refused() {
        let r = request();
        assert_eq!(
            r.check(&GENESIS, NOW).unwrap(),
            <[u8; 32]>::from(Keccak256::digest(b"hello"))
        );
        assert!(
            matches!(r.check(&[2; 32], NOW), Err(SignError::BadSignature(_))),
            "another network"
        );

        let mut other = r.clone();
        other.message = Some(Bytes(b"hellO".to_vec()));
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.account = AccountId([4; 32]);
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.expires_at_ms += 1;
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.signature[0] ^= 1;
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.hash = Some(Bytes(vec![0; 32]));
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::Malformed(_))));
        let mut other = r.clone();
        other.signature.pop();
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::Malformed(_))));

        assert!(matches!(r.check(&GENESIS, NOW + 60_000), Err(SignError::Expiry(_))));
        let long = SignRequest::new(&user(), GENESIS, ToSign::Hash([5; 32]), [3; 16], NOW + 3_600_000);
        assert!(matches!(long.check(&GENESIS, NOW), Err(SignError::Expiry(_))));
        let big = SignRequest {
            message: Some(Bytes(vec![0; MAX_MESSAGE_BYTES + 1])),
            ..r.clone()
        };
        assert!(matches!(big.check(&GENESIS, NOW), Err(SignError::Malformed(_))));
    }

    #[test]
    fn requests_travel_as_json_with_ss58_and_hex() {
        let r = request();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(&r.account.to_ss58()), "{json}");
        assert!(json.contains("\"message\":\"0x68656c6c6f\""), "{json}");
        let back: SignRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let without_hash = json.replace(",\"hash\":null", "");
        assert_ne!(without_hash, json);
        assert_eq!(
            serde_json::from_str::<SignRequest>(&without_hash).unwrap(),
            r,
            "an omitted field is None"
        );
    }
}
