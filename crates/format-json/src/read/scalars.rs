//! The scalar values of a bundle: member names (borrowed from the input when they hold no
//! escape) and string values, checked as they are read.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::state::State;

/// A member name, borrowed from the input when it has no escapes.
pub(super) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A string value.
#[derive(Clone, Copy)]
pub(super) struct StringSeed<'s> {
    pub(super) st: &'s State,
}

/// What a string value is called in messages.
pub(super) const STRING: &str = "a string";

impl StringSeed<'_> {
    fn expected(&self) -> &'static str {
        STRING
    }
}

any_value_seed!(StringSeed<'_>);

impl<'de> Visitor<'de> for StringSeed<'_> {
    type Value = String;
    expecting!();
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.st.check_value(v)?;
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.st.check_value(&v)?;
        Ok(v)
    }
    reject!(scalars);
    reject!(seq);
    reject!(map);
}
