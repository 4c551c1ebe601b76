//! Unguessable identifiers for codes, tokens, transactions and device requests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// 32 random bytes, base64url: 256 bits for anything that grants access.
pub fn secret_token() -> String {
    token_of(32)
}

/// 16 random bytes, base64url: for identifiers that appear in URLs. Testers also type
/// them after CLI commands (`mitid-sim device approve <id>`), where a leading `-` would be
/// read as an option, so such draws are redone.
pub fn short_id() -> String {
    loop {
        let id = token_of(16);
        if !id.starts_with('-') {
            return id;
        }
    }
}

fn token_of(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_never_look_like_a_command_line_option() {
        // One draw in 64 starts with `-`: among 10 000, some would without the redraw.
        assert!((0..10_000).all(|_| !short_id().starts_with('-')));
    }
}
