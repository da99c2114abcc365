//! Integration tests of the JSON bundle reader and writer.

mod roundtrip;
mod sample;
mod shapes;
mod util;
