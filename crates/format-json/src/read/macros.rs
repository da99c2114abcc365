//! The parts every visitor of the reader writes the same way: the JSON types it refuses
//! (`reject!`), its `expecting` (`expecting!`), and the seed that hands it any JSON value
//! (`any_value_seed!`).

/// Implements the visitor methods for the JSON types a visitor does not accept, as errors
/// naming what was expected (`self.expected()`) and what was found. Never the value itself:
/// it may be a password.
macro_rules! reject {
    (scalars) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a number"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "null"))
        }
    };
    (str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.st.wrong_type(&self.expected(), "a string"))
        }
    };
    (seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.st.wrong_type(&self.expected(), "an array"))
        }
    };
    (map) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.st.wrong_type(&self.expected(), "an object"))
        }
    };
}

/// Implements `Visitor::expecting` as `self.expected()`, the words the visitor's errors use.
macro_rules! expecting {
    () => {
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.expected())
        }
    };
}

/// Implements `DeserializeSeed` for visitors that take any JSON value (and refuse the types
/// they do not want, with `reject!`).
macro_rules! any_value_seed {
    ($($seed:ty),* $(,)?) => {$(
        impl<'de> DeserializeSeed<'de> for $seed {
            type Value = <Self as Visitor<'de>>::Value;
            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
    )*};
}
