//! The frames TSSs send each other over the Noise transport, in a versioned binary envelope.
//!
//! A protocol message travels with its [`Tag`] — which protocol, chain session and attempt (or
//! which signing request) it belongs to. The receiver derives the manul session id from the
//! tag itself, so a message cannot claim one attempt and carry another's session id.

use std::collections::BTreeSet;

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};
use keywheel_mpc::driver::{protocol_session_id, ProtocolKind};
use keywheel_primitives::domain::{attempt_context, signing_context};
use keywheel_primitives::envelope::{self, DecodeError};
use serde::{Deserialize, Serialize};

use keywheel_rpc::sign_request::{SignError, SignRequest, SignatureReply};

/// Version of the frame envelope. 2: a [`SignFailure`] names the co-signers a signer holds no
/// DKLs23 pair state with. 3: a [`SignFailure`] may say the signer's pairs were busy or that it
/// refused the job, and a coordinator calls a round off with [`SignCancel`]. TSSs of different versions cannot sign together: upgrade a
/// committee's TSSs together.
pub const FRAME_VERSION: u16 = 3;

/// The largest frame a TSS sends or accepts (the largest protocol messages, AuxGen's at
/// production parameters, are far below it).
pub const MAX_FRAME_BYTES: usize = 32 << 20;

/// What a protocol message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tag {
    /// A session of a reshare attempt (jumpstart or rotation).
    Reshare {
        /// KeyInit, Reshare or AuxGen.
        kind: ProtocolKind,
        /// The chain session of the attempt.
        session: SessionIndex,
        /// The attempt.
        attempt: AttemptIndex,
    },
    /// The signing session of one request.
    Signing {
        /// The request's hash ([`SignRequest::hash`]).
        request: [u8; 32],
        /// Which try of that request (a retry after a rotation is a new round).
        round: u32,
    },
    /// The signing session of one request on the DKLs23 backend (its own session id, so a
    /// message of one backend never reaches the other's session).
    DklsSigning {
        /// The request's hash.
        request: [u8; 32],
        /// Which try of that request.
        round: u32,
    },
}

impl Tag {
    /// The bytes of the manul session id of the session this tag names, on `network`.
    pub fn protocol_session_id(&self, network: &[u8; 32]) -> Vec<u8> {
        let id = match *self {
            Tag::Reshare { kind, session, attempt } => {
                protocol_session_id(kind, &attempt_context(network, session, attempt))
            }
            Tag::Signing { request, round } => {
                protocol_session_id(ProtocolKind::Signing, &signing_context(network, &request, round))
            }
            Tag::DklsSigning { request, round } => {
                protocol_session_id(ProtocolKind::DklsSigning, &signing_context(network, &request, round))
            }
        };
        id.as_ref().to_vec()
    }
}

/// A signing job the coordinating TSS hands to each chosen signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignJob {
    /// The user's signed request (every signer checks it itself).
    pub request: SignRequest,
    /// Which try.
    pub round: u32,
    /// The signers the coordinator chose: each signer checks that they are `t` members of the
    /// current committee including itself, not that they are the coordinator's pick.
    pub signers: BTreeSet<AccountId>,
}

/// Why a signer produced no signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignFailure {
    /// What went wrong.
    pub message: String,
    /// Signers the session named as not answering.
    pub unresponsive: Vec<AccountId>,
    /// Co-signers this signer holds no DKLs23 pair state with (a pair setup failed), so cannot
    /// sign with: the coordinator picks its later sets without these pairs.
    pub no_pair_with: Vec<AccountId>,
    /// The signer's DKLs23 pairs with co-signers were held by a signing ahead of this one in
    /// line (see `signing::pair_locks`): no fault of anyone's; the coordinator calls the round
    /// off and tries again.
    pub busy: bool,
    /// The signer did not run (or could not finish) its side of the session: a check refused
    /// the job, or its session broke locally. The others cannot sign without it, so the
    /// coordinator ends the round at once instead of waiting for their sessions to stall.
    pub refused: bool,
}

impl From<SignError> for SignFailure {
    fn from(e: SignError) -> Self {
        Self {
            message: e.to_string(),
            unresponsive: Vec::new(),
            no_pair_with: Vec::new(),
            busy: false,
            refused: true,
        }
    }
}

/// A signer's answer to a [`SignJob`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOutcome {
    /// The request's hash.
    pub request: [u8; 32],
    /// Which try.
    pub round: u32,
    /// The signature, or why there is none.
    pub result: Result<SignatureReply, SignFailure>,
}

/// A signer's word to the coordinator that its job for a request's round still runs, sent every
/// few seconds until the outcome: a round whose signers share slow cores is not a lost one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignWorking {
    /// The request's hash.
    pub request: [u8; 32],
    /// Which try.
    pub round: u32,
}

/// A coordinator's word to the signers of one of its rounds that the round is over (another
/// signer was busy, or the round failed or timed out): each ends its job there, releasing what
/// it holds. Taken only from the coordinator that sent the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignCancel {
    /// The request's hash.
    pub request: [u8; 32],
    /// Which try.
    pub round: u32,
}

/// Everything one TSS sends another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// A protocol message (a signed manul message in `keywheel-mpc`'s envelope).
    Protocol {
        /// What it belongs to.
        tag: Tag,
        /// The message.
        payload: Vec<u8>,
    },
    /// A signing job from a coordinator.
    SignJob(SignJob),
    /// A signer's answer to the coordinator.
    SignOutcome(SignOutcome),
    /// A signer's word that it still works on a job.
    SignWorking(SignWorking),
    /// A coordinator's word that a round is over.
    SignCancel(SignCancel),
}

#[derive(Serialize)]
struct EnvelopeRef<'a> {
    version: u16,
    frame: &'a Frame,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    version: u16,
    frame: Frame,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Larger than [`MAX_FRAME_BYTES`].
    #[error("frame of {0} bytes is over the limit of {MAX_FRAME_BYTES}")]
    Oversized(usize),
    /// Another envelope version.
    #[error("frame version {0} is not supported (this TSS speaks {FRAME_VERSION})")]
    Version(u16),
    /// Does not decode, or has bytes after the frame.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Encodes a frame in its envelope.
pub fn encode_frame(frame: &Frame) -> Vec<u8> {
    postcard::to_allocvec(&EnvelopeRef {
        version: FRAME_VERSION,
        frame,
    })
    .expect("plain data serializes")
}

/// Decodes untrusted bytes into a frame: the size, the version and exact decoding (no trailing
/// bytes) are checked.
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, WireError> {
    // Exact and canonical: postcard also reads over-long varints (found by fuzzing).
    let envelope: Envelope =
        envelope::decode_versioned(bytes, FRAME_VERSION, MAX_FRAME_BYTES).map_err(|e| match e {
            DecodeError::Oversized { size, .. } => WireError::Oversized(size),
            DecodeError::Version { found, .. } => WireError::Version(found),
            DecodeError::Malformed(why) => WireError::Malformed(why),
        })?;
    Ok(envelope.frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame::Protocol {
            tag: Tag::Reshare {
                kind: ProtocolKind::AuxGen,
                session: 3,
                attempt: 2,
            },
            payload: vec![1, 2, 3],
        }
    }

    #[test]
    fn frames_round_trip_and_bad_bytes_are_refused() {
        let bytes = encode_frame(&frame());
        assert_eq!(decode_frame(&bytes).unwrap(), frame());

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(decode_frame(&trailing), Err(WireError::Malformed(_))));
        assert!(matches!(
            decode_frame(&bytes[..bytes.len() - 1]),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(decode_frame(&[]), Err(WireError::Malformed(_))));
        let mut other_version = bytes.clone();
        other_version[0] = 9;
        assert_eq!(decode_frame(&other_version), Err(WireError::Version(9)));
        let mut unknown_variant = bytes;
        unknown_variant[1] = 77;
        assert!(matches!(decode_frame(&unknown_variant), Err(WireError::Malformed(_))));
        assert!(matches!(
            decode_frame(&vec![0u8; MAX_FRAME_BYTES + 1]),
            Err(WireError::Oversized(_))
        ));
        // From the fuzzer: 127 written as `ff 00` decodes to the frame `7f` encodes.
        assert!(decode_frame(&[FRAME_VERSION as u8, 0, 0, 0, 1, 127, 0]).is_ok());
        assert!(matches!(
            decode_frame(&[FRAME_VERSION as u8, 0, 0, 0, 1, 255, 0, 0]),
            Err(WireError::Malformed(m)) if m.contains("canonical")
        ));
    }

    #[test]
    fn a_signing_job_round_trips_in_its_binary_form() {
        let user = keywheel_mpc::PartySigner::from_seed(&[9; 32]);
        let request = SignRequest::new(
            &user,
            [1; 32],
            keywheel_rpc::sign_request::ToSign::Message(b"hello".to_vec()),
            [3; 16],
            1_000,
        );
        let job = Frame::SignJob(SignJob {
            request,
            round: 1,
            signers: [AccountId([1; 32])].into(),
        });
        assert_eq!(decode_frame(&encode_frame(&job)).unwrap(), job);
    }

    #[test]
    fn session_ids_differ_per_attempt_and_kind() {
        let network = [4; 32];
        let tag = |kind, attempt| Tag::Reshare {
            kind,
            session: 1,
            attempt,
        };
        let a = tag(ProtocolKind::Reshare, 1).protocol_session_id(&network);
        assert_ne!(a, tag(ProtocolKind::Reshare, 2).protocol_session_id(&network));
        assert_ne!(a, tag(ProtocolKind::AuxGen, 1).protocol_session_id(&network));
        assert_ne!(a, tag(ProtocolKind::Reshare, 1).protocol_session_id(&[5; 32]));
        assert_eq!(a, tag(ProtocolKind::Reshare, 1).protocol_session_id(&network));
    }
}
