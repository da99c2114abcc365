//! Integration tests of the select crate: the choice × scope matrix, the merge and the plan.

mod matrix;
mod plan;
mod support;
