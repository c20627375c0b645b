//! What nearly every decision needs and none owns: the way out, the
//! settings, and the time. Handed down as one value instead of three
//! parameters through every call.

use crate::{HubConfig, Now, Outbox};

/// The way out, the settings and the time of one event.
pub(crate) struct Ctx<'a> {
    pub(crate) out: &'a mut dyn Outbox,
    pub(crate) config: &'a HubConfig,
    pub(crate) now: Now,
}
