//! The values the ports exchange: what a port call reads or is asked to write. The traits
//! themselves, their limits and `PortError` stay in `ports/`.

mod copying;
mod findings;
mod messaging;
mod registry;
mod state;

pub use copying::*;
pub use findings::*;
pub use messaging::*;
pub use registry::*;
pub use state::*;
