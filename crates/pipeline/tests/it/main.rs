//! Pipeline tests: the formats against each other, and the library entry points.

mod memory;
mod roundtrip;
