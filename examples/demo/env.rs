//! Settings for the examples: the process environment over a `.env` file in the current
//! directory (`NAME=value` lines; `#` comments, `export ` and quotes allowed), as the Python
//! socialauth read its `.env` with python-dotenv.

use std::collections::HashMap;

/// Every setting by name; the environment wins over `.env`.
#[derive(Debug, Default)]
pub struct Settings(HashMap<String, String>);

impl Settings {
    pub fn load() -> Self {
        let mut settings = std::fs::read_to_string(".env")
            .map(|text| parse(&text))
            .unwrap_or_default();
        settings.extend(std::env::vars());
        Settings(settings)
    }

    /// The setting, when set and not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// `SOCIALAUTH_SECRET` (at least 32 bytes), or a random key, with a warning that every
    /// sign-in ends when the process does.
    pub fn secret(&self) -> Vec<u8> {
        if let Some(secret) = self.get("SOCIALAUTH_SECRET") {
            return secret.into_bytes();
        }
        eprintln!(
            "warning: SOCIALAUTH_SECRET is not set; using a random key, so sign-ins end when \
             this process does (set it to 32+ random bytes, e.g. `openssl rand -base64 32`)"
        );
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).expect("the system's random number generator");
        key
    }
}

fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix("export ").unwrap_or(line).split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let unquoted = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(open, close)| value.strip_prefix(*open)?.strip_suffix(*close));
            (name.trim().to_owned(), unquoted.unwrap_or(value).to_owned())
        })
        .collect()
}
