//! The `[accounts]` settings: who may register, whether an account's nick
//! is its own, and on how many connections an account may be at once.

/// Who may make an account (`[accounts] registration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationPolicy {
    /// Anyone, with `/register` (a few per address an hour).
    #[default]
    Open,
    /// Operators, with `/account create`.
    Operators,
    /// Nobody new (`chat-server --create-account` still can).
    Closed,
}

/// The `[accounts]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    pub registration: RegistrationPolicy,
    /// A nick an account owns is its own: others cannot take it, and a
    /// guest holding it gives it up when the account logs in.
    pub nick_enforcement: bool,
    /// Connections logged in to one account at once.
    pub max_connections_per_account: usize,
}

impl Default for AccountSettings {
    fn default() -> AccountSettings {
        AccountSettings {
            registration: RegistrationPolicy::Open,
            nick_enforcement: true,
            max_connections_per_account: 5,
        }
    }
}
