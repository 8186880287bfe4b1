//! Shopify Admin API (GraphQL) for publishing listings: check a store's token, stage an
//! image upload (`stagedUploadsCreate`, then PUT the bytes to the target), and create a
//! DRAFT product with its description, SEO fields, tags, metafields and the image with its
//! alt text (`productCreate` with `media`). Auth is the store's Admin API access token in
//! `X-Shopify-Access-Token` (a custom app's token, or one from OAuth).

use std::time::Duration;

use serde_json::{Value, json};

pub const API_VERSION: &str = "2025-01";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopifyError {
    #[error("network error: {0}")]
    Transport(String),
    #[error("Shopify answered {status}: {message}")]
    Api { status: u16, message: String },
    /// The mutation ran and refused the input (`userErrors`).
    #[error("Shopify refused it: {0}")]
    Refused(String),
    #[error("unexpected reply: {0}")]
    Malformed(String),
}

/// A product to create as a draft.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Unique in the store; a product already there with this handle is the one a lost
    /// reply created, so it is not created twice.
    pub handle: String,
    pub title: String,
    pub description_html: String,
    pub seo_title: String,
    pub seo_description: String,
    pub tags: Vec<String>,
    pub product_type: String,
    pub vendor: String,
    /// (key, value) in the `soraipixel` namespace, single-line text.
    pub metafields: Vec<(String, String)>,
    pub image: Vec<u8>,
    pub image_mime: String,
    pub image_name: String,
    pub alt: String,
}

#[derive(Clone)]
pub struct Shopify {
    http: reqwest::Client,
    /// `https://{shop}` (or a FAKE's address).
    base_url: String,
    token: String,
}

/// `name.myshopify.com`, lower-case; anything else is refused.
pub fn shop_domain(input: &str) -> Option<String> {
    let s = input.trim().trim_start_matches("https://").trim_end_matches('/').to_ascii_lowercase();
    let name = s.strip_suffix(".myshopify.com")?;
    let ok = !name.is_empty() && name.len() <= 60 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(s)
}

impl Shopify {
    /// Where a store at a non-Shopify address (the FAKE's) takes uploads: its own origin.
    fn upload_base(&self) -> &str {
        let rest = self.base_url.split("://").nth(1).unwrap_or_default();
        let host_end = self.base_url.len() - rest.len() + rest.find('/').unwrap_or(rest.len());
        &self.base_url[..host_end]
    }

    pub fn new(base_url: &str, token: &str) -> Result<Self, ShopifyError> {
        // No redirects: the token header must never follow a reply to another host.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ShopifyError::Transport(e.to_string()))?;
        Ok(Self { http, base_url: base_url.trim_end_matches('/').to_owned(), token: token.to_owned() })
    }

    /// One GraphQL call; throttled calls (429, or `THROTTLED`) are tried again after a pause,
    /// as Shopify asks (a throttled request did nothing).
    async fn graphql(&self, query: &str, variables: Value) -> Result<Value, ShopifyError> {
        let url = format!("{}/admin/api/{API_VERSION}/graphql.json", self.base_url);
        let body = json!({ "query": query, "variables": variables });
        for attempt in 0..4u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            let request = self.http.post(&url).header("X-Shopify-Access-Token", &self.token).json(&body);
            let response = crate::send("shopify", request)
                .await
                .map_err(|e| ShopifyError::Transport(e.without_url().to_string()))?;
            let status = response.status().as_u16();
            let v: Value = serde_json::from_slice(
                &crate::read_capped(response, MAX_REPLY).await.map_err(ShopifyError::Transport)?,
            )
            .unwrap_or(Value::Null);
            let throttled = status == 429
                || v["errors"].as_array().is_some_and(|e| e.iter().any(|e| e["extensions"]["code"] == "THROTTLED"));
            if throttled {
                continue;
            }
            if !(200..300).contains(&status) {
                let message = v["errors"].as_str().map(str::to_owned).unwrap_or_else(|| v["errors"].to_string());
                return Err(ShopifyError::Api { status, message: message.chars().take(300).collect() });
            }
            if let Some(errors) = v["errors"].as_array().filter(|e| !e.is_empty()) {
                let message: Vec<&str> = errors.iter().filter_map(|e| e["message"].as_str()).collect();
                return Err(ShopifyError::Malformed(message.join("; ")));
            }
            return Ok(v["data"].clone());
        }
        Err(ShopifyError::Api { status: 429, message: "throttled".into() })
    }

    /// The store's name: checks the token works.
    pub async fn shop_name(&self) -> Result<String, ShopifyError> {
        let data = self.graphql("query { shop { name myshopifyDomain } }", json!({})).await?;
        data["shop"]["name"].as_str().map(str::to_owned).ok_or_else(|| ShopifyError::Malformed("no shop".into()))
    }

    fn user_errors(payload: &Value) -> Result<(), ShopifyError> {
        match payload["userErrors"].as_array().filter(|e| !e.is_empty()) {
            Some(errors) => {
                let text: Vec<&str> = errors.iter().filter_map(|e| e["message"].as_str()).collect();
                Err(ShopifyError::Refused(text.join("; ")))
            }
            None => Ok(()),
        }
    }

    /// The product with this handle, if the store has one.
    async fn product_by_handle(&self, handle: &str) -> Result<Option<String>, ShopifyError> {
        const FIND: &str =
            "query find($identifier: ProductIdentifierInput!) { productByIdentifier(identifier: $identifier) { id } }";
        let data = self.graphql(FIND, json!({ "identifier": { "handle": handle } })).await?;
        Ok(data["productByIdentifier"]["id"].as_str().map(str::to_owned))
    }

    /// Creates the draft product with its image; returns the product's GID. A product left
    /// by an earlier attempt whose reply was lost is found by its handle instead.
    pub async fn create_draft(&self, d: &Draft) -> Result<String, ShopifyError> {
        if let Some(id) = self.product_by_handle(&d.handle).await? {
            return Ok(id);
        }
        const STAGE: &str = "mutation stage($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) { \
            stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }";
        let input =
            json!([{ "resource": "IMAGE", "filename": d.image_name, "mimeType": d.image_mime, "httpMethod": "PUT" }]);
        let staged = self.graphql(STAGE, json!({ "input": input })).await?;
        let payload = &staged["stagedUploadsCreate"];
        Self::user_errors(payload)?;
        let target = &payload["stagedTargets"][0];
        let (Some(url), Some(resource)) = (target["url"].as_str(), target["resourceUrl"].as_str()) else {
            return Err(ShopifyError::Malformed("no staged upload target".into()));
        };
        // The upload goes to Shopify's storage (Google Cloud Storage), nowhere else.
        let trusted =
            url.starts_with("https://") && url.split('/').nth(2).is_some_and(|h| h.ends_with(".googleapis.com"));
        if !trusted && !url.starts_with(&format!("{}/", self.upload_base())) {
            return Err(ShopifyError::Malformed("unexpected upload target".into()));
        }
        // The signed URL covers these headers: send the values Shopify gave.
        let param = |name: &str| {
            target["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .and_then(|p| p["value"].as_str())
        };
        let mut put = self
            .http
            .put(url)
            .header("Content-Type", param("content_type").unwrap_or(&d.image_mime))
            .body(d.image.clone());
        if let Some(acl) = param("acl") {
            put = put.header("x-goog-acl", acl);
        }
        let uploaded = crate::send("shopify_upload", put)
            .await
            .map_err(|e| ShopifyError::Transport(e.without_url().to_string()))?;
        if !uploaded.status().is_success() {
            return Err(ShopifyError::Api {
                status: uploaded.status().as_u16(),
                message: "image upload refused".into(),
            });
        }
        const CREATE: &str = "mutation create($product: ProductCreateInput!, $media: [CreateMediaInput!]) { \
            productCreate(product: $product, media: $media) { product { id status } userErrors { field message } } }";
        let metafields: Vec<Value> = d
            .metafields
            .iter()
            .map(|(k, v)| json!({ "namespace": "soraipixel", "key": k, "type": "single_line_text_field", "value": v }))
            .collect();
        let product = json!({
            "handle": d.handle,
            "title": d.title,
            "descriptionHtml": d.description_html,
            "status": "DRAFT",
            "tags": d.tags,
            "productType": d.product_type,
            "vendor": d.vendor,
            "seo": { "title": d.seo_title, "description": d.seo_description },
            "metafields": metafields,
        });
        let media = json!([{ "originalSource": resource, "alt": d.alt, "mediaContentType": "IMAGE" }]);
        let created = self.graphql(CREATE, json!({ "product": product, "media": media })).await?;
        let payload = &created["productCreate"];
        Self::user_errors(payload)?;
        payload["product"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ShopifyError::Malformed("no product id".into()))
    }
}

/// Replies larger than this are refused: GraphQL answers here are a few kilobytes.
const MAX_REPLY: usize = 4 << 20;

#[cfg(test)]
mod tests {
    #[test]
    fn only_myshopify_domains() {
        assert_eq!(
            super::shop_domain(" https://Meera-Jewels.myshopify.com/ ").as_deref(),
            Some("meera-jewels.myshopify.com")
        );
        assert_eq!(super::shop_domain("evil.com/x.myshopify.com"), None);
        assert_eq!(super::shop_domain("attacker.example"), None);
        assert_eq!(super::shop_domain(".myshopify.com"), None);
    }
}
