//! Typed, read-only views of the items this project understands. Each view borrows the generic
//! [`Element`] it reads, so unknown fields stay where they are.

use crate::element::Element;

/// An event source: a domain controller or an Exchange server.
#[derive(Clone, Copy, Debug)]
pub struct EventSource<'a>(pub &'a Element);

impl<'a> EventSource<'a> {
    /// The item's id.
    pub fn id(&self) -> &'a str {
        self.0.attr("id").unwrap_or_default()
    }
    /// The template it is based on.
    pub fn template(&self) -> Option<&'a str> {
        self.0.non_empty_attr("template")
    }
    /// The `domain_controller` or `exchange_server` element.
    pub fn source(&self) -> Option<&'a Element> {
        self.0
            .children
            .iter()
            .find(|c| c.name == "domain_controller" || c.name == "exchange_server")
    }
    /// `domain_controller` or `exchange_server`.
    pub fn kind(&self) -> Option<&'a str> {
        self.source().map(|s| s.name.as_str())
    }
    /// The server's address.
    pub fn server(&self) -> Option<&'a str> {
        self.source().and_then(|s| s.attr("server"))
    }
    /// The account used to read the event log.
    pub fn username(&self) -> Option<&'a str> {
        self.source().and_then(|s| s.non_empty_attr("username"))
    }
}

/// A user directory (Active Directory source).
#[derive(Clone, Copy, Debug)]
pub struct UserDirectory<'a>(pub &'a Element);

impl<'a> UserDirectory<'a> {
    /// The item's id.
    pub fn id(&self) -> &'a str {
        self.0.attr("id").unwrap_or_default()
    }
    /// The template it is based on.
    pub fn template(&self) -> Option<&'a str> {
        self.0.non_empty_attr("template")
    }
    /// The directory server's address.
    pub fn server(&self) -> Option<&'a str> {
        self.0.child("active_directory").and_then(|s| s.attr("server"))
    }
    /// The account used to read the directory.
    pub fn username(&self) -> Option<&'a str> {
        self.0.child("active_directory").and_then(|s| s.non_empty_attr("username"))
    }
}

/// A data-source template.
#[derive(Clone, Copy, Debug)]
pub struct Template<'a>(pub &'a Element);

impl<'a> Template<'a> {
    /// The template's id.
    pub fn id(&self) -> &'a str {
        self.0.attr("id").unwrap_or_default()
    }
    /// `event_source`, `user_directory` or `pc_probe`.
    pub fn kind(&self) -> Option<&'a str> {
        self.0.attr("kind")
    }
    /// The account the template supplies.
    pub fn username(&self) -> Option<&'a str> {
        self.0.non_empty_attr("username")
    }
}

/// An SRX client.
#[derive(Clone, Copy, Debug)]
pub struct SrxClient<'a>(pub &'a Element);

impl<'a> SrxClient<'a> {
    /// The client's id.
    pub fn id(&self) -> &'a str {
        self.0.attr("id").unwrap_or_default()
    }
    /// The firewall's address.
    pub fn address(&self) -> Option<&'a str> {
        self.0.attr("address")
    }
    /// The oAuth client id.
    pub fn oauth_client_id(&self) -> Option<&'a str> {
        self.0.child("oAuth").and_then(|o| o.attr("id"))
    }
    /// The web API user, when the web API is configured.
    pub fn webapi_user(&self) -> Option<&'a str> {
        self.0.child("webapi").and_then(|o| o.attr("user"))
    }
}

/// The session settings (`cache › config`).
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig<'a>(pub &'a Element);

impl<'a> SessionConfig<'a> {
    /// The logoff time in minutes, when it is a number.
    pub fn logoff_minutes(&self) -> Option<u32> {
        self.0.attr("probe_timeout").and_then(|v| v.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_source_view_reads_its_holder() {
        let e = Element::new("event_source").with_attr("id", "DC1").with_child(
            Element::new("exchange_server").with_attr("server", "mx1").with_attr("username", "u"),
        );
        let v = EventSource(&e);
        assert_eq!(v.id(), "DC1");
        assert_eq!(v.kind(), Some("exchange_server"));
        assert_eq!(v.server(), Some("mx1"));
        assert_eq!(v.username(), Some("u"));
        assert_eq!(v.template(), None);
    }
}
