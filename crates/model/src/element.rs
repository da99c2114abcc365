//! A generic XML-shaped element: a name, attributes in order, child elements in order and
//! optional text. This is how the model keeps what it does not understand.

use std::fmt;

use zeroize::Zeroize;

/// Attribute names whose values are secrets: redacted in `Debug` and wiped on drop.
pub const SECRET_ATTRIBUTE_NAMES: [&str; 2] = ["password", "fswSpi1"];

/// Whether an attribute of this name holds a secret.
pub fn is_secret_attribute(name: &str) -> bool {
    SECRET_ATTRIBUTE_NAMES.contains(&name)
}

/// The name of the element whose text can hold a secret (`<password>…</password>`, read as the
/// password when it has no `fswSpi1`): its text is redacted in `Debug` and wiped on drop.
pub const SECRET_ELEMENT_NAME: &str = "password";

/// One attribute: a name and a string value, as written in the file.
#[derive(Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute's name, e.g. `server`.
    pub name: String,
    /// The attribute's value, unescaped.
    pub value: String,
}

impl Attribute {
    /// A new attribute.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute { name: name.into(), value: value.into() }
    }
}

impl Drop for Attribute {
    fn drop(&mut self) {
        if is_secret_attribute(&self.name) {
            self.value.zeroize();
        }
    }
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_secret_attribute(&self.name) && !self.value.is_empty() {
            write!(f, "{}=[REDACTED]", self.name)
        } else {
            write!(f, "{}={:?}", self.name, self.value)
        }
    }
}

/// An element: name, attributes and children in document order, and text if it has any.
///
/// Mixed content (text between child elements) is kept as one text value; comments, processing
/// instructions and whitespace between elements are not part of the model.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The element's name, e.g. `event_source`.
    pub name: String,
    /// Attributes in document order.
    pub attributes: Vec<Attribute>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Text content, if the element has any that is not only whitespace.
    pub text: Option<String>,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Element");
        s.field("name", &self.name).field("attributes", &self.attributes);
        if !self.children.is_empty() {
            s.field("children", &self.children);
        }
        match &self.text {
            Some(text) if self.name == SECRET_ELEMENT_NAME && !text.is_empty() => {
                s.field("text", &format_args!("[REDACTED]"));
            }
            Some(text) => {
                s.field("text", text);
            }
            None => {}
        }
        s.finish()
    }
}

impl Drop for Element {
    fn drop(&mut self) {
        if self.name == SECRET_ELEMENT_NAME
            && let Some(text) = &mut self.text
        {
            text.zeroize();
        }
    }
}

impl Element {
    /// An element with this name and nothing else.
    pub fn new(name: impl Into<String>) -> Element {
        Element { name: name.into(), attributes: Vec::new(), children: Vec::new(), text: None }
    }

    /// Builder: this element with one more attribute.
    pub fn with_attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Element {
        self.attributes.push(Attribute::new(name, value));
        self
    }

    /// Builder: this element with one more child.
    pub fn with_child(mut self, child: Element) -> Element {
        self.children.push(child);
        self
    }

    /// Builder: this element with this text.
    pub fn with_text(mut self, text: impl Into<String>) -> Element {
        self.text = Some(text.into());
        self
    }

    /// The value of the attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.name == name).map(|a| a.value.as_str())
    }

    /// The value of the attribute `name`, or `None` when it is absent or empty.
    pub fn non_empty_attr(&self, name: &str) -> Option<&str> {
        self.attr(name).filter(|v| !v.is_empty())
    }

    /// Sets attribute `name` in place (keeping its position), or appends it. A replaced secret
    /// value is wiped.
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attributes.iter_mut().find(|a| a.name == name) {
            Some(a) => {
                a.value.zeroize();
                a.value = value;
            }
            None => self.attributes.push(Attribute::new(name, value)),
        }
    }

    /// Removes attribute `name`; returns whether it was there.
    pub fn remove_attr(&mut self, name: &str) -> bool {
        let before = self.attributes.len();
        self.attributes.retain(|a| a.name != name);
        before != self.attributes.len()
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child named `name`, mutably.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// The children named `name`, in order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secret_attributes() {
        let e = Element::new("x").with_attr("password", "hunter2").with_attr("server", "dc1");
        let shown = format!("{e:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[REDACTED]"));
        assert!(shown.contains("dc1"));
    }

    #[test]
    fn debug_redacts_the_text_of_a_password_element_only() {
        let e = Element::new("oAuth").with_child(Element::new("password").with_text("hunter2"));
        let shown = format!("{e:?}");
        assert!(!shown.contains("hunter2") && shown.contains("[REDACTED]"), "{shown}");
        let note = format!("{:?}", Element::new("note").with_text("plain words"));
        assert!(note.contains("plain words"), "{note}");
    }

    #[test]
    fn set_attr_keeps_position() {
        let mut e = Element::new("x").with_attr("a", "1").with_attr("b", "2");
        e.set_attr("a", "3");
        e.set_attr("c", "4");
        let names: Vec<_> =
            e.attributes.iter().map(|a| (a.name.as_str(), a.value.as_str())).collect();
        assert_eq!(names, [("a", "3"), ("b", "2"), ("c", "4")]);
    }
}
