//! Signed checkpoints: the C2SP checkpoint body (origin, size, base64 root) in a C2SP signed
//! note, signed with Ed25519. Keys are in the signed-note text forms: the signer key
//! `PRIVATE+KEY+<name>+<8 hex id>+<base64>` (kept in a file beside, never in, the database) and
//! the verifier key `<name>+<8 hex id>+<base64>` that auditors pin.

use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

/// The name in the keys and the signature lines.
pub const KEY_NAME: &str = "trailscope";

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not a signed-note private key (PRIVATE+KEY+<name>+<id>+<base64>)")]
    BadSigningKey,
    #[error("`{0}` is not a verifier key (<name>+<8 hex key id>+<base64 Ed25519 key>)")]
    BadVerifierKey(String),
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint is not a signed note")]
    Malformed,
    #[error("the checkpoint's body is not origin, size and root hash")]
    BadBody,
    #[error("the checkpoint carries no signature by {0}")]
    NotSignedBy(String),
    #[error("the checkpoint's signature by {0} is not valid")]
    BadSignature(String),
    #[error("the checkpoint could not be signed: {0}")]
    Signing(String),
}

/// The checkpoint origin line of a tenant's log.
pub fn checkpoint_origin(tenant: &str) -> String {
    format!("trailscope/{tenant}")
}

/// The server's Ed25519 signing key.
#[derive(Clone)]
pub struct SigningKey {
    text: String,
    signer: StandardSigner,
    verifier: VerifierKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key, not even in a debug dump.
        write!(f, "SigningKey({})", self.verifier.text)
    }
}

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> SigningKey {
        let (skey, _) = signed_note::generate_key(&mut rand_core::OsRng, KEY_NAME);
        SigningKey::parse(&skey).expect("a key just generated parses")
    }

    /// A key from its text form (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let text = text.trim();
        let signer = StandardSigner::new(text).map_err(|_| KeyError::BadSigningKey)?;
        // `PRIVATE+KEY+<name>+<id>+<base64 of alg || seed>`; base64 may itself hold '+'.
        // The seed gives the public half, to state the verifier key.
        let parts: Vec<&str> = text.splitn(5, '+').collect();
        let [_, _, name, _, b64] = parts[..] else {
            return Err(KeyError::BadSigningKey);
        };
        let raw = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| KeyError::BadSigningKey)?
        };
        let seed: [u8; 32] = raw
            .get(1..)
            .and_then(|s| s.try_into().ok())
            .ok_or(KeyError::BadSigningKey)?;
        let name = name.to_string();
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let vkey = signed_note::new_ed25519_verifier_key(&name, &public);
        Ok(SigningKey {
            text: text.to_string(),
            signer,
            verifier: VerifierKey::parse(&vkey).expect("a derived verifier key parses"),
        })
    }

    /// The text form, for the key file only.
    pub fn to_text(&self) -> &str {
        &self.text
    }

    /// The public half that auditors pin.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// Signs the checkpoint of `origin` at `size` leaves with `root`; returns the signed note.
    pub fn sign_checkpoint(
        &self,
        origin: &str,
        size: u64,
        root: Hash,
    ) -> Result<String, CheckpointError> {
        let body = Checkpoint::new(origin, size, root, "")
            .map_err(|e| CheckpointError::Signing(e.to_string()))?;
        let mut note = Note::new(&body.to_bytes(), &[])
            .map_err(|e| CheckpointError::Signing(e.to_string()))?;
        note.add_sigs(&[&self.signer])
            .map_err(|e| CheckpointError::Signing(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| CheckpointError::Signing(e.to_string()))
    }
}

/// A verifier key (the public half), as pinned by auditors and witnesses.
#[derive(Clone)]
pub struct VerifierKey {
    text: String,
    verifier: StandardVerifier,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for VerifierKey {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl VerifierKey {
    /// Parses `<name>+<8 hex key id>+<base64 key>` (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let text = text.trim();
        let verifier = StandardVerifier::new(text)
            .map_err(|_| KeyError::BadVerifierKey(text.chars().take(80).collect()))?;
        Ok(VerifierKey {
            text: text.to_string(),
            verifier,
        })
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Checks `note` carries a valid signature by this key and returns its checkpoint.
    pub fn open(&self, note: &str) -> Result<OpenedCheckpoint, CheckpointError> {
        let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::Malformed)?;
        let list = VerifierList::new(vec![Box::new(self.verifier.clone())]);
        match parsed.verify(&list) {
            Ok(_) => {}
            Err(signed_note::NoteError::InvalidSignature { .. }) => {
                return Err(CheckpointError::BadSignature(self.text.clone()));
            }
            Err(_) => return Err(CheckpointError::NotSignedBy(self.text.clone())),
        }
        body(parsed.text())
    }
}

/// A checkpoint's body, once its signature was checked (or read unchecked by [`parse_checkpoint`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

fn body(text: &[u8]) -> Result<OpenedCheckpoint, CheckpointError> {
    let c = Checkpoint::from_bytes(text).map_err(|_| CheckpointError::BadBody)?;
    Ok(OpenedCheckpoint {
        origin: c.origin().to_string(),
        size: c.size(),
        root: *c.hash(),
    })
}

/// Reads a signed checkpoint's body without checking any signature: for saying what a
/// checkpoint claims when its signature has already failed.
pub fn parse_checkpoint(note: &str) -> Result<OpenedCheckpoint, CheckpointError> {
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::Malformed)?;
    body(parsed.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_and_reads_back() {
        let key = SigningKey::generate();
        let root = crate::proof::entry_leaf(&[7; 32]);
        let note = key.sign_checkpoint("trailscope/acme", 42, root).unwrap();
        let mut lines = note.lines();
        assert_eq!(lines.next(), Some("trailscope/acme"));
        assert_eq!(lines.next(), Some("42"));
        assert_eq!(
            lines.next(),
            Some(crate::proof::encode_hash(&root).as_str())
        );
        assert_eq!(lines.next(), Some(""));
        assert!(lines.next().unwrap().starts_with("— trailscope "));
        let opened = key.verifier().open(&note).unwrap();
        assert_eq!(
            opened,
            OpenedCheckpoint {
                origin: "trailscope/acme".into(),
                size: 42,
                root
            }
        );
        assert_eq!(parse_checkpoint(&note).unwrap(), opened);
    }

    #[test]
    fn another_key_or_an_edited_body_is_refused() {
        let key = SigningKey::generate();
        let other = SigningKey::generate();
        let note = key
            .sign_checkpoint("trailscope/acme", 3, crate::proof::entry_leaf(&[1; 32]))
            .unwrap();
        assert!(matches!(
            other.verifier().open(&note),
            Err(CheckpointError::NotSignedBy(_))
        ));
        let edited = note.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(
            key.verifier().open(&edited),
            Err(CheckpointError::BadSignature(_))
        ));
        assert_eq!(
            key.verifier().open("not a note"),
            Err(CheckpointError::Malformed)
        );
    }

    #[test]
    fn keys_round_trip_through_their_text_and_bad_text_is_refused() {
        // Base64 holds '+' in about one key of two: many keys make sure both kinds are seen.
        for _ in 0..64 {
            let k = SigningKey::generate();
            assert_eq!(
                SigningKey::parse(k.to_text()).unwrap().verifier(),
                k.verifier()
            );
        }
        let key = SigningKey::generate();
        let again = SigningKey::parse(&format!("{}\n", key.to_text())).unwrap();
        assert_eq!(again.verifier(), key.verifier());
        let v = key.verifier().as_str();
        assert!(v.starts_with("trailscope+"));
        let id = v.split('+').nth(1).unwrap();
        assert_eq!(id.len(), 8);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(VerifierKey::parse(v).unwrap(), *key.verifier());
        assert!(SigningKey::parse("PRIVATE+KEY+x+00000000+AAAA").is_err());
        assert!(SigningKey::parse("").is_err());
        assert!(VerifierKey::parse("trailscope+zz+AAAA").is_err());
        assert!(VerifierKey::parse(&v.replace("trailscope", "other")).is_err());
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }
}
