//! Every domain-separation tag keywheel hashes or signs under, and the constructors of the
//! context bytes that bind a protocol session, a proof or a signature to one network, session
//! and attempt. One list, so no two uses can share a tag by accident; changing a byte here
//! changes what every party and the chain compute, so the tests pin them.

use alloc::vec::Vec;

use crate::account::AccountId;

/// sr25519 context of the signatures on every protocol message (manul's signer).
pub const PROTOCOL_MESSAGE: &[u8] = b"keywheel/mpc/message";
/// sr25519 context of a signed extrinsic.
pub const EXTRINSIC: &[u8] = b"keywheel/extrinsic";
/// sr25519 VRF context of a block's randomness.
pub const BLOCK_RANDOMNESS: &[u8] = b"keywheel/block-randomness";
/// sr25519 context of a user's sign request.
pub const SIGN_REQUEST: &[u8] = b"keywheel/sign-request";
/// The `domain` field inside the payload a user's sign request signature covers.
pub const SIGN_REQUEST_PAYLOAD: &str = "keywheel/sign-request/v1";

/// SHA-256 tag of an account's BIP32 child path.
pub const ACCOUNT_PATH: &[u8] = b"keywheel/account";
/// SHA-256 tag of one draw of the chain's committee pick.
pub const COMMITTEE_PICK: &[u8] = b"keywheel/pick";
/// SHA-256 tag of an attempt's selection seed (from the block's randomness).
pub const SELECTION_SEED: &[u8] = b"keywheel/select";
/// SHA-256 tag of the seed a signing coordinator picks a round's signers with.
pub const SIGNER_PICK: &[u8] = b"keywheel/signers";
/// SHA-256 tag of the Schnorr challenge of a share proof.
pub const SHARE_PROOF: &[u8] = b"keywheel/share-proof";
/// SHA-256 tag of an offence's evidence fingerprint.
pub const EVIDENCE_FINGERPRINT: &[u8] = b"keywheel/evidence-fingerprint/";
/// SHA-256 tag of a network id (over the genesis name).
pub const NETWORK_ID: &[u8] = b"keywheel/network/";
/// SHA-256 tag of a genesis hash (over the whole genesis configuration).
pub const GENESIS_HASH: &[u8] = b"keywheel/genesis/";
/// sr25519 context of a TSS account's signature on the declaration that makes it a
/// validator's TSS ([`tss_declaration`]).
pub const TSS_DECLARATION: &[u8] = b"keywheel/tss-declaration";
/// SHA-256 tag of the dev node's state digest (chain digest and nonces).
pub const NODE_STATE: &[u8] = b"keywheel/node-state/";
/// SHA-256 tag of the key stream a reshare subshare is sealed with (to a new member's
/// receiving key for one attempt).
pub const SUBSHARE_SEAL: &[u8] = b"keywheel/subshare-seal";
/// SHA-256 tag of the challenge of the proof that opens one sealed subshare publicly (the
/// shared point behind it, from the receiving key).
pub const SEAL_OPENING: &[u8] = b"keywheel/seal-opening";
/// SHA-256 tag of the nonce of that proof (derived from the receiving key and the seal).
pub const SEAL_NONCE: &[u8] = b"keywheel/seal-nonce";
/// sr25519 context of a staying holder's endorsement of the commitments it dealt
/// ([`deal_endorsement`]).
pub const DEAL_ENDORSEMENT: &[u8] = b"keywheel/deal-endorsement";
/// SHA-256 tag of the session id of one DKLs23 pair's two-party multiplication setup (over the
/// setup's context, the multiplication receiver and the sender).
pub const DKLS_PAIR_SETUP: &[u8] = b"keywheel/dkls23/pair-setup";
/// SHA-256 tag of the DKLs23 session id of one sharing (over its threshold and public shares):
/// every signer of that sharing holds the same id, and a share of another sharing does not.
pub const DKLS_SHARING: &[u8] = b"keywheel/dkls23/sharing";
/// SHA-256 tag synedrion 0.3.0 derives the parent key's BIP32 chain code under (`SHA-256(tag ‖
/// compressed parent key)`); every signing backend uses it, so child keys do not depend on the
/// backend. Not keywheel's own tag, hence its form.
pub const PARENT_CHAIN_CODE: &[u8] = b"chain-code-derivation";

/// What a staying holder endorses when it deals: the reshare's protocol session id (which binds
/// network, session and attempt) and its commitments (compressed SEC1, lowest degree first).
pub fn deal_endorsement(protocol_session_id: &[u8], commitments: &[Vec<u8>]) -> Vec<u8> {
    crate::envelope::encode(&(protocol_session_id, commitments))
}

/// The bytes every participant and the chain derive protocol session ids from for one attempt.
pub fn attempt_context(network: &[u8; 32], session: u32, attempt: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"keywheel/attempt/");
    out.extend_from_slice(network);
    out.extend_from_slice(&session.to_be_bytes());
    out.extend_from_slice(&attempt.to_be_bytes());
    out
}

/// The context a new member's share proof is bound to: its attempt and its own account.
pub fn proof_context(network: &[u8; 32], session: u32, attempt: u32, member: &AccountId) -> Vec<u8> {
    let mut out = attempt_context(network, session, attempt);
    out.extend_from_slice(b"/confirm/");
    out.extend_from_slice(&member.0);
    out
}

/// The context a signing session's id derives from: one request's one round.
pub fn signing_context(network: &[u8; 32], request: &[u8; 32], round: u32) -> Vec<u8> {
    let mut out = b"keywheel/sign/".to_vec();
    out.extend_from_slice(network);
    out.extend_from_slice(request);
    out.extend_from_slice(&round.to_be_bytes());
    out
}

/// The seed of a protocol session's id (manul's `SessionId::from_seed`): the protocol's name and
/// a context from [`attempt_context`] or [`signing_context`].
pub fn session_seed(protocol: &str, context: &[u8]) -> Vec<u8> {
    let mut seed = Vec::with_capacity(context.len() + 32);
    seed.extend_from_slice(b"keywheel/");
    seed.extend_from_slice(protocol.as_bytes());
    seed.push(b'/');
    seed.extend_from_slice(context);
    seed
}

/// The associated data of a sealed keystore record: its owner and the record's name, so a
/// record copied to another slot or another keystore does not open.
pub fn keystore_record(owner: &AccountId, record: &str) -> Vec<u8> {
    let mut aad = b"keywheel/keystore/v1/".to_vec();
    aad.extend_from_slice(&owner.0);
    aad.push(b'/');
    aad.extend_from_slice(record.as_bytes());
    aad
}

/// What a TSS account signs to be declared a validator's TSS: the network, the validator's
/// stash, and the transport key and endpoint peers will know it by. Nobody can declare another's
/// TSS account, or reuse a declaration for another stash, endpoint, key or network.
pub fn tss_declaration(network: &[u8; 32], stash: &AccountId, endpoint: &str, x25519: &[u8; 32]) -> Vec<u8> {
    let mut out = b"keywheel/tss-declaration/v1/".to_vec();
    out.extend_from_slice(network);
    out.extend_from_slice(&stash.0);
    out.extend_from_slice(x25519);
    out.extend_from_slice(&(endpoint.len() as u64).to_be_bytes());
    out.extend_from_slice(endpoint.as_bytes());
    out
}

/// The Noise prologue of a peer connection: both ends must be on the same network.
pub fn noise_prologue(network: &[u8; 32]) -> Vec<u8> {
    let mut p = b"keywheel/noise/v1/".to_vec();
    p.extend_from_slice(network);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_pinned_and_distinct() {
        let tags: [(&[u8], &[u8]); 22] = [
            (PROTOCOL_MESSAGE, b"keywheel/mpc/message"),
            (EXTRINSIC, b"keywheel/extrinsic"),
            (BLOCK_RANDOMNESS, b"keywheel/block-randomness"),
            (SIGN_REQUEST, b"keywheel/sign-request"),
            (SIGN_REQUEST_PAYLOAD.as_bytes(), b"keywheel/sign-request/v1"),
            (ACCOUNT_PATH, b"keywheel/account"),
            (COMMITTEE_PICK, b"keywheel/pick"),
            (SELECTION_SEED, b"keywheel/select"),
            (SIGNER_PICK, b"keywheel/signers"),
            (SHARE_PROOF, b"keywheel/share-proof"),
            (EVIDENCE_FINGERPRINT, b"keywheel/evidence-fingerprint/"),
            (NETWORK_ID, b"keywheel/network/"),
            (GENESIS_HASH, b"keywheel/genesis/"),
            (TSS_DECLARATION, b"keywheel/tss-declaration"),
            (NODE_STATE, b"keywheel/node-state/"),
            (SUBSHARE_SEAL, b"keywheel/subshare-seal"),
            (SEAL_OPENING, b"keywheel/seal-opening"),
            (SEAL_NONCE, b"keywheel/seal-nonce"),
            (DEAL_ENDORSEMENT, b"keywheel/deal-endorsement"),
            (DKLS_PAIR_SETUP, b"keywheel/dkls23/pair-setup"),
            (DKLS_SHARING, b"keywheel/dkls23/sharing"),
            (PARENT_CHAIN_CODE, b"chain-code-derivation"),
        ];
        for (i, (tag, pinned)) in tags.iter().enumerate() {
            assert_eq!(tag, pinned);
            assert!(
                tags[i + 1..].iter().all(|(other, _)| other != tag),
                "a tag is used twice"
            );
        }
        assert_eq!(NODE_STATE, b"keywheel/node-state/");
    }

    #[test]
    fn contexts_are_pinned_and_distinct_per_attempt() {
        let network = [7; 32];
        let a = attempt_context(&network, 1, 2);
        assert_eq!(&a[..17], b"keywheel/attempt/");
        assert_eq!(&a[a.len() - 8..], &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_ne!(a, attempt_context(&network, 1, 3));
        assert_ne!(a, attempt_context(&network, 2, 2));
        assert_ne!(a, attempt_context(&[8; 32], 1, 2));
        let p = proof_context(&network, 1, 2, &AccountId([9; 32]));
        assert!(p.starts_with(&a));
        assert_ne!(p, proof_context(&network, 1, 2, &AccountId([10; 32])));
        assert_ne!(
            signing_context(&network, &[1; 32], 0),
            signing_context(&network, &[1; 32], 1)
        );
        assert_eq!(session_seed("reshare", b"ctx"), b"keywheel/reshare/ctx");
        assert_ne!(
            keystore_record(&AccountId([1; 32]), "current"),
            keystore_record(&AccountId([1; 32]), "next")
        );
        assert_eq!(noise_prologue(&network)[..18], *b"keywheel/noise/v1/");
    }
}
