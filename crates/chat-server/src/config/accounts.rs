//! `[accounts]`: the table of `chat_hub::AccountSettings`, whose crate
//! knows no serde.

use chat_hub::{AccountSettings, RegistrationPolicy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The shape of the table in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Table {
    /// `open` (anyone, with `/register`), `operators` (with `/account
    /// create`) or `closed`.
    registration: Registration,
    /// A nick an account owns is its own.
    nick_enforcement: bool,
    /// Connections logged in to one account at once.
    max_connections_per_account: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Registration {
    Open,
    Operators,
    Closed,
}

impl Default for Table {
    fn default() -> Table {
        Table::from(&AccountSettings::default())
    }
}

impl From<&AccountSettings> for Table {
    fn from(settings: &AccountSettings) -> Table {
        Table {
            registration: match settings.registration {
                RegistrationPolicy::Open => Registration::Open,
                RegistrationPolicy::Operators => Registration::Operators,
                RegistrationPolicy::Closed => Registration::Closed,
            },
            nick_enforcement: settings.nick_enforcement,
            max_connections_per_account: settings.max_connections_per_account,
        }
    }
}

pub(super) fn serialize<S: Serializer>(
    settings: &AccountSettings,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    Table::from(settings).serialize(serializer)
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<AccountSettings, D::Error> {
    let table = Table::deserialize(deserializer)?;
    Ok(AccountSettings {
        registration: match table.registration {
            Registration::Open => RegistrationPolicy::Open,
            Registration::Operators => RegistrationPolicy::Operators,
            Registration::Closed => RegistrationPolicy::Closed,
        },
        nick_enforcement: table.nick_enforcement,
        max_connections_per_account: table.max_connections_per_account,
    })
}
