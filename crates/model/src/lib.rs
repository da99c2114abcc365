//! The JIMS configuration model: what an export holds, independent of any file format.
//!
//! A configuration is a set of [`Section`]s (see [`SectionId`] for the ten of them). Each section
//! keeps the root element of its native file(s) as a generic, order-preserving [`Element`] tree,
//! so that every attribute and child element, known or not, survives a read, merge and write.
//! Typed access to the fields this project understands sits on top of that tree
//! ([`items`], [`secret`]), and [`validate()`] checks the import rules. [`read`] holds what
//! every reader of an export applies whatever its format: its error type, the bounds on
//! untrusted input, and the rules of a bundle's header and sections.
//!
//! Architecture invariant: this crate does no I/O, knows no file format and no key. It is the
//! vocabulary every other crate speaks.

pub mod element;
pub mod export;
pub mod items;
pub mod location;
pub mod misplaced;
pub mod name;
pub mod read;
pub mod sealed_to;
pub mod secret;
pub mod section;
pub mod text;
pub mod validate;

pub use element::{Attribute, Element};
pub use export::{Export, Header, PasswordsMode, Scope};
pub use location::Location;
pub use misplaced::{Misplaced, MisplacedKind, misplaced_secrets};
pub use name::{NameError, check_xml_name, is_xml_name};
pub use sealed_to::{Recipient, SealedTo};
pub use secret::{FieldLocation, SealedParts, SecretField, SecretKey, SecretSlot, SecretState};
pub use section::{Configuration, Section, SectionFile, SectionId};
pub use validate::{Problem, ProblemKind, validate};
