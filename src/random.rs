//! Unguessable identifiers for codes, tokens, transactions and device requests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// 32 random bytes, base64url: 256 bits for anything that grants access.
pub fn secret_token() -> String {
    token_of(32)
}

/// 16 random bytes, base64url: for identifiers that appear in URLs.
pub fn short_id() -> String {
    token_of(16)
}

fn token_of(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}
