//! Integration tests of the JSON bundle reader and writer.

mod errors;
mod limits;
mod props;
mod roundtrip;
mod shapes;
mod snapshot;
mod spec_example;
mod util;
