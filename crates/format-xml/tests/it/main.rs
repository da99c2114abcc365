//! Integration tests of format-xml: round trips, every reader error, the writer's layout
//! (snapshot), server folders and a property test of write → read.

mod errors;
mod folder;
mod limits;
mod props;
mod roundtrip;
mod snapshot;
