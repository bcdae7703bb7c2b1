//! Access tokens of channel accounts: an account names a secret (`access_token_secret_ref`);
//! the token is read from `SWITCHBOARD_SECRET_<REF>` or from a file of that name in the secrets
//! directory (a mounted Kubernetes Secret). Tokens are never stored in the database or logged.

use std::path::PathBuf;

use crate::error::ChannelError;

/// Where tokens are read from.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    dir: Option<PathBuf>,
}

impl Secrets {
    /// Tokens from environment variables, then from files in `dir` (empty: none).
    pub fn new(dir: &str) -> Self {
        Self {
            dir: (!dir.is_empty()).then(|| PathBuf::from(dir)),
        }
    }

    /// The environment variable that holds `reference`.
    pub fn env_name(reference: &str) -> String {
        let upper: String = reference
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("SWITCHBOARD_SECRET_{upper}")
    }

    /// The token `reference` names.
    pub fn token(&self, reference: &str) -> Result<String, ChannelError> {
        if let Ok(value) = std::env::var(Self::env_name(reference))
            && !value.trim().is_empty()
        {
            return Ok(value.trim().to_string());
        }
        let safe = !reference.is_empty()
            && reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !reference.starts_with('.');
        if let Some(dir) = &self.dir
            && safe
            && let Ok(value) = std::fs::read_to_string(dir.join(reference))
            && !value.trim().is_empty()
        {
            return Ok(value.trim().to_string());
        }
        Err(ChannelError::FailedPrecondition {
            reason: None,
            message: format!(
                "the access token secret {reference:?} is not configured (set {} or a file of that name in channel.whatsapp.secrets_dir)",
                Self::env_name(reference)
            ),
            metadata: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_files_in_the_secrets_dir_and_never_outside_it() {
        let dir = std::env::temp_dir().join(format!("sb-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("wa-token-ar"), "EAAB123\n").expect("write");
        let secrets = Secrets::new(dir.to_str().expect("utf8"));
        assert_eq!(secrets.token("wa-token-ar").expect("found"), "EAAB123");
        assert!(secrets.token("../etc/passwd").is_err());
        assert!(secrets.token("missing").is_err());
        assert_eq!(
            Secrets::env_name("wa-token.ar"),
            "SWITCHBOARD_SECRET_WA_TOKEN_AR"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
