//! Where an API key may go. Each route a key can use is listed here with the scope it
//! needs; everything else (the account itself, email, phone, password, consents, keys,
//! billing, export, deletion, every page) needs a signed-in person, so a new route is
//! closed to keys until it is added here.

use axum::http::Method;
use domain::Scope;

/// What a request carrying an API key may do on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The key must hold this scope.
    Needs(Scope),
    /// Open to anyone; the key is not needed and not used.
    Public,
    /// Only a signed-in person.
    PersonOnly,
}

/// `route` is the router's pattern (`/api/v1/uploads/{id}`).
pub fn access(method: &Method, route: &str) -> Access {
    use Scope::{AccountRead, ImagesRead, ImagesWrite, ListingsWrite};
    let read = matches!(*method, Method::GET | Method::HEAD);
    let scope = match route {
        "/healthz" | "/readyz" | "/openapi.json" | "/api/v1/policy" | "/api/v1/billing/plans" if read => {
            return Access::Public;
        }
        "/api/v1/uploads"
        | "/api/v1/uploads/{id}"
        | "/api/v1/uploads/{id}/original"
        | "/api/v1/uploads/{id}/thumbnail"
        | "/api/v1/creations"
        | "/api/v1/creations/{id}"
        | "/api/v1/creations/{id}/events"
        | "/api/v1/creations/{id}/zip"
        | "/api/v1/batches/{id}"
        | "/api/v1/batches/{id}/zip"
        | "/api/v1/outputs/{id}"
        | "/api/v1/outputs/{id}/before"
            if read =>
        {
            ImagesRead
        }
        "/api/v1/uploads"
        | "/api/v1/uploads/{id}"
        | "/api/v1/quotes"
        | "/api/v1/creations"
        | "/api/v1/creations/{id}"
        | "/api/v1/creations/{id}/cancel"
        | "/api/v1/creations/{id}/corrections"
        | "/api/v1/outputs/{id}/feedback"
        | "/api/v1/outputs/{id}/remake"
        | "/api/v1/creations/{id}/corrections/preview"
        | "/api/v1/batches"
        | "/api/v1/removebg" => ImagesWrite,
        "/api/v1/brand-profile"
        | "/api/v1/listings/batches"
        | "/api/v1/listings/batches/{id}"
        | "/api/v1/listings/batches/{id}/export"
        | "/api/v1/listings/batches/{id}/shopify"
        | "/api/v1/listings/{id}"
        | "/api/v1/listings/{id}/regenerate" => ListingsWrite,
        // Which shop is connected, not its token; connecting one needs a person.
        "/api/v1/shopify" if read => ListingsWrite,
        "/api/v1/me" | "/api/v1/tokens" | "/api/v1/tokens/ledger" | "/api/v1/usage" if read => AccountRead,
        _ => return Access::PersonOnly,
    };
    Access::Needs(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_reach_the_account_itself() {
        for (method, route) in [
            (Method::PATCH, "/api/v1/me"),
            (Method::DELETE, "/api/v1/me"),
            (Method::POST, "/api/v1/me/export"),
            (Method::PUT, "/api/v1/me/consents"),
            (Method::GET, "/api/v1/me/sessions"),
            (Method::POST, "/api/v1/api-keys"),
            (Method::GET, "/api/v1/api-keys"),
            (Method::POST, "/api/v1/billing/orders"),
            (Method::GET, "/api/v1/billing/payments"),
            (Method::PUT, "/api/v1/shopify"),
            (Method::POST, "/api/v1/auth/password/forgot"),
            (Method::GET, "/settings"),
        ] {
            assert_eq!(access(&method, route), Access::PersonOnly, "{method} {route}");
        }
        assert_eq!(access(&Method::GET, "/api/v1/me"), Access::Needs(Scope::AccountRead));
        assert_eq!(access(&Method::DELETE, "/api/v1/uploads/{id}"), Access::Needs(Scope::ImagesWrite));
        assert_eq!(access(&Method::GET, "/api/v1/outputs/{id}"), Access::Needs(Scope::ImagesRead));
    }
}
