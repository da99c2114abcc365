//! What every reader of an export applies, whatever its format: the one [`Error`] type (and
//! with it one notion of line and column), the bounds on untrusted input ([`MAX_INPUT_BYTES`]
//! and the others), the decoding of the input, the rules of a bundle's header ([`header`]) and
//! of its sections ([`sections`]).
//!
//! The XML and JSON readers call these functions rather than write the rules again, so that a
//! rule and its wording exist once. Each function returns an [`Error`] without a position (or,
//! for the input as a whole, a [`Refusal`] at a byte offset): the reader knows where it met the
//! problem, and places it there.
//!
//! The column of every error counts characters, not bytes ([`line_column`]).

mod error;
pub mod header;
mod input;
mod limits;
pub mod sections;

pub use error::{Error, ErrorKind};
pub use input::{Refusal, UTF8_BOM, decode, line_column, strip_bom};
pub use limits::{
    MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, MAX_VALUE_BYTES, check_attribute_count,
    check_depth, check_size, check_value_len, too_deep, too_large,
};
