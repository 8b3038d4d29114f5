//! Signed checkpoints: the C2SP checkpoint body (origin, size, base64 root) in a C2SP signed
//! note, signed with Ed25519. Keys are in the signed-note text forms: the signer key
//! `PRIVATE+KEY+<name>+<8 hex id>+<base64>` (kept in a file beside, never in, the database) and
//! the verifier key `<name>+<8 hex id>+<base64>` that auditors pin.
//!
//! C2SP tlog-checkpoint: the key name SHOULD be the log's origin. One Ed25519 key signs every
//! tenant's log, so each checkpoint is signed under the name of its own origin
//! (`trailscope/<tenant>`), and the server states that tenant's verifier key under that name.
//! The name is part of the key id, not of the key: a verifier key opens a checkpoint signed by
//! the same Ed25519 key under its own name, under the checkpoint's origin, or under the name
//! `trailscope` that checkpoints were signed with before (they keep verifying).

use signed_note::{Note, StandardSigner, StandardVerifier, Verifier as _, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

/// The name in the key file, and in the signature lines of checkpoints signed before the key
/// name became the log's origin.
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

/// Whether two verifier keys in text form are the same Ed25519 key, whatever their names
/// (`trailscope+…` pinned before the key name became the origin, `trailscope/<tenant>+…` now).
pub fn same_verifier_key(a: &str, b: &str) -> bool {
    match (VerifierKey::parse(a), VerifierKey::parse(b)) {
        (Ok(a), Ok(b)) => a.same_key(&b),
        _ => a == b,
    }
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
    /// `0x01 || seed`, base64: to sign under another name (a log's origin).
    private_b64: String,
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
            private_b64: b64.to_string(),
        })
    }

    /// This key under `name` (a log's origin); `None` when `name` cannot be a key name.
    fn signer_named(&self, name: &str) -> Option<StandardSigner> {
        if !signed_note::is_key_name_valid(name) {
            return None;
        }
        let id = signed_note::key_id(name, &self.verifier.public);
        StandardSigner::new(&format!("PRIVATE+KEY+{name}+{id:08x}+{}", self.private_b64)).ok()
    }

    /// The verifier key of `tenant`'s log: named by its origin, `trailscope/<tenant>`.
    pub fn verifier_for(&self, tenant: &str) -> VerifierKey {
        self.verifier.named(&checkpoint_origin(tenant))
    }

    /// The verifier key named by the origin of `note` (the key's own when it has none).
    pub fn verifier_for_note(&self, note: &str) -> VerifierKey {
        match parse_checkpoint(note) {
            Ok(c) => self.verifier.named(&c.origin),
            Err(_) => self.verifier.clone(),
        }
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
        // Signed under the origin's name (C2SP tlog-checkpoint's SHOULD).
        let named = self.signer_named(origin);
        let signer = named.as_ref().unwrap_or(&self.signer);
        note.add_sigs(&[signer])
            .map_err(|e| CheckpointError::Signing(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| CheckpointError::Signing(e.to_string()))
    }
}

/// A verifier key (the public half), as pinned by auditors and witnesses.
#[derive(Clone)]
pub struct VerifierKey {
    text: String,
    verifier: StandardVerifier,
    /// `0x01 || Ed25519 public key`: what the key is, whatever its name.
    public: Vec<u8>,
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
        let bad = || KeyError::BadVerifierKey(text.chars().take(80).collect());
        let verifier = StandardVerifier::new(text).map_err(|_| bad())?;
        // `<name>+<id>+<base64>`; base64 may itself hold '+'.
        let public = text
            .splitn(3, '+')
            .nth(2)
            .and_then(|b64| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b64).ok()
            })
            .ok_or_else(bad)?;
        Ok(VerifierKey {
            text: text.to_string(),
            verifier,
            public,
        })
    }

    /// The same key under another name; itself when `name` cannot be a key name.
    pub fn named(&self, name: &str) -> VerifierKey {
        if !signed_note::is_key_name_valid(name) {
            return self.clone();
        }
        use base64::Engine;
        let id = signed_note::key_id(name, &self.public);
        let text = format!(
            "{name}+{id:08x}+{}",
            base64::engine::general_purpose::STANDARD.encode(&self.public)
        );
        VerifierKey::parse(&text).unwrap_or_else(|_| self.clone())
    }

    /// Whether `other` is the same Ed25519 key, whatever name either carries.
    pub fn same_key(&self, other: &VerifierKey) -> bool {
        self.public == other.public
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Checks `note` carries a valid signature by this key and returns its checkpoint.
    pub fn open(&self, note: &str) -> Result<OpenedCheckpoint, CheckpointError> {
        let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::Malformed)?;
        // The same key under the names a checkpoint of ours may carry: this key's own, the
        // checkpoint's origin (signed since the key name became the origin), and `trailscope`
        // (signed before). Another key never opens it.
        let mut names = vec![self.named(KEY_NAME)];
        if let Ok(c) = body(parsed.text()) {
            names.push(self.named(&c.origin));
        }
        let mut verifiers: Vec<Box<dyn signed_note::Verifier>> =
            vec![Box::new(self.verifier.clone())];
        for k in names {
            if k.text != self.text && !verifiers.iter().any(|v| v.name() == k.verifier.name()) {
                verifiers.push(Box::new(k.verifier));
            }
        }
        let list = VerifierList::new(verifiers);
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
        // The key name is the log's origin (C2SP tlog-checkpoint).
        assert!(lines.next().unwrap().starts_with("— trailscope/acme "));
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
    fn the_key_name_is_the_origin_and_checkpoints_signed_the_old_way_keep_verifying() {
        let key = SigningKey::generate();
        let root = crate::proof::entry_leaf(&[3; 32]);
        let vkey = key.verifier_for("acme");
        assert!(vkey.as_str().starts_with("trailscope/acme+"), "{vkey}");
        assert!(vkey.same_key(key.verifier()));
        assert!(same_verifier_key(vkey.as_str(), key.verifier().as_str()));
        assert!(!same_verifier_key(
            vkey.as_str(),
            SigningKey::generate().verifier().as_str()
        ));
        // A checkpoint signed before the change: the signature line names `trailscope`.
        let body = Checkpoint::new("trailscope/acme", 9, root, "").unwrap();
        let mut old = Note::new(&body.to_bytes(), &[]).unwrap();
        old.add_sigs(&[&key.signer]).unwrap();
        let old = String::from_utf8(old.to_bytes()).unwrap();
        assert!(
            old.lines().nth(4).unwrap().starts_with("— trailscope "),
            "{old}"
        );
        let new = key.sign_checkpoint("trailscope/acme", 9, root).unwrap();
        assert_ne!(old, new);
        // Each opens with the key as pinned before (`trailscope+…`) and as stated now.
        for pinned in [key.verifier(), &vkey] {
            for note in [&old, &new] {
                let opened = pinned.open(note).unwrap();
                assert_eq!((opened.size, opened.root), (9, root));
            }
        }
        assert_eq!(key.verifier_for_note(&new), vkey);
        // Another key under the right name still opens nothing.
        let stranger = SigningKey::generate().verifier_for("acme");
        assert!(stranger.open(&new).is_err());
        assert!(stranger.open(&old).is_err());
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
