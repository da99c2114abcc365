//! The top of a bundle: `{"jims_export": {…}}`, whose members are the header's fields (each
//! checked by [`model::read::header`] as it is met) and `sections`.

use model::read::{ErrorKind, header, sections};
use model::{Attribute, Export, Header};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::fmt;

use super::scalars::{KeySeed, StringSeed};
use super::sections::SectionsSeed;
use super::state::State;
use crate::shape::{SECTIONS_MEMBER, TOP_MEMBER};

/// The top level: `{"jims_export": {…}}`.
pub(super) struct BundleSeed<'s> {
    pub(super) st: &'s State,
}

impl BundleSeed<'_> {
    fn expected(&self) -> &'static str {
        "an object with the member jims_export"
    }
}

any_value_seed!(BundleSeed<'_>);

impl<'de> Visitor<'de> for BundleSeed<'_> {
    type Value = Export;
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Export, A::Error> {
        self.st.enter()?;
        let mut export = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key != TOP_MEMBER {
                return Err(self.st.fail(
                    ErrorKind::Shape,
                    format!(
                        "expected an object with the member jims_export only, found the member \
                         {key:?}"
                    ),
                ));
            }
            if export.is_some() {
                return Err(self.st.fail(
                    ErrorKind::Shape,
                    "expected an object with the member jims_export once, found it twice",
                ));
            }
            // Member paths in messages start below jims_export, as in
            // `sections.event_sources[3].domain_controller.server`.
            export = Some(map.next_value_seed(ExportSeed { st: self.st })?);
        }
        self.st.leave();
        export.ok_or_else(|| {
            self.st.fail(ErrorKind::Shape, "expected an object with the member jims_export")
        })
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// The value of `jims_export`: header members and `sections`.
struct ExportSeed<'s> {
    st: &'s State,
}

impl ExportSeed<'_> {
    fn expected(&self) -> &'static str {
        "an object with the header members and sections"
    }
}

any_value_seed!(ExportSeed<'_>);

impl<'de> Visitor<'de> for ExportSeed<'_> {
    type Value = Export;
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Export, A::Error> {
        let st = self.st;
        st.enter()?;
        let mut header = Header::default();
        let mut configuration = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == SECTIONS_MEMBER {
                if configuration.is_some() {
                    return Err(st.fail(
                        ErrorKind::Shape,
                        "jims_export has the member sections twice; merge them into one",
                    ));
                }
                let value = map.next_value_seed(SectionsSeed { st });
                configuration = Some(st.in_key(value, SECTIONS_MEMBER)?);
                continue;
            }
            let name = match key.strip_prefix('@') {
                Some(name) => name.to_owned(),
                None => key.to_string(),
            };
            st.check_name(&name, &key)?;
            st.rule(header::check_field_name(&name))?;
            if header.attributes.iter().any(|a| a.name == name) {
                return Err(st.fail(
                    ErrorKind::InvalidHeader,
                    format!("the header member {name} is given twice; keep one"),
                ));
            }
            let value = if name == header::FORMAT_VERSION_FIELD {
                map.next_value_seed(VersionSeed { st })?
            } else {
                let value = map.next_value_seed(StringSeed { st });
                st.in_key(value, &name)?
            };
            st.rule(header::check_field_value(&name, &value))?;
            header.attributes.push(Attribute::new(name, value));
        }
        st.leave();
        st.rule(header::check_sealed_to(&header))?;
        let Some(configuration) = configuration else {
            return Err(st.fail(
                ErrorKind::Shape,
                "jims_export has no member sections; add \"sections\": {} with the sections",
            ));
        };
        st.rule(sections::check_full_scope(&header, &configuration))?;
        Ok(Export { header, configuration })
    }
    reject!(scalars);
    reject!(str);
    reject!(seq);
}

/// `format_version`: a number (its digits as written) or a string; [`header::check_field_value`]
/// accepts the number 1 or the string `"1"`.
struct VersionSeed<'s> {
    st: &'s State,
}

impl VersionSeed<'_> {
    fn expected(&self) -> &'static str {
        "the number 1"
    }
}

any_value_seed!(VersionSeed<'_>);

impl<'de> Visitor<'de> for VersionSeed<'_> {
    type Value = String;
    expecting!();
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        // 1.0 is not the integer 1: kept as written, to be refused.
        Ok(format!("{v:?}"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(self.st.wrong_type(self.expected(), "a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.st.wrong_type(self.expected(), "null"))
    }
    reject!(seq);
    reject!(map);
}
