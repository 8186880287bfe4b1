//! Publishing listings to a seller's Shopify store: connect with the store's Admin API
//! token (checked against the store, then sealed with the seller's data key), push a
//! batch's ready listings as DRAFT products with their photo and alt text (one job per
//! listing, status per item), disconnect.

use db::listings::SHOPIFY_JOB;
use db::queue::Job;
use domain::listing::Listing;
use imaging::Format;
use jobs::{Handler, HandlerFuture, JobContext, JobError};
use providers::shopify::{Draft, Shopify, shop_domain};

use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

fn sealed_path(user_id: &str) -> String {
    format!("users/{user_id}/shopify-token")
}

impl App {
    /// The API address of `shop`: `https://{shop}` unless configured (the FAKE Shopify).
    fn shop_url(&self, shop: &str) -> String {
        self.settings.shopify.base_url.replace("{shop}", shop)
    }

    /// Connects a store: the token must work before it is kept.
    pub async fn connect_shop(&self, p: &Principal, shop: &str, token: &str, client: &Client) -> Result<String> {
        let shop = shop_domain(shop).ok_or_else(|| {
            AppError::from(domain::Invalid::new(
                "invalid_shop",
                "shop",
                "Give your store's address, like your-store.myshopify.com.",
            ))
        })?;
        let token = token.trim();
        if token.is_empty() || token.len() > 200 {
            return Err(
                domain::Invalid::new("invalid_token", "access_token", "Paste the Admin API access token.").into()
            );
        }
        self.limit(&format!("shop-connect:{}", p.user.id), 10, crate::limits::HOUR).await?;
        let api = Shopify::new(&self.shop_url(&shop), token).map_err(|e| AppError::Internal(e.to_string()))?;
        let name = api.shop_name().await.map_err(|_| {
            AppError::from(domain::Invalid::new(
                "shop_refused",
                "access_token",
                "The store did not accept this token. Check the address and that the app may write products.",
            ))
        })?;
        let key = self.data_key(&p.user.id).await?;
        let sealed = storage::envelope::seal(&key, &sealed_path(&p.user.id), token.as_bytes())
            .map_err(|_| AppError::Internal("sealing the store token failed".into()))?;
        self.db.save_shop(&p.user.id, &shop, &hex::encode(sealed), now_ms()).await?;
        self.db.audit(Some(&p.user.id), "self", "shop_connected", &shop, &client.network(), now_ms()).await?;
        Ok(name)
    }

    /// The connected store's domain, if any.
    pub async fn shop(&self, p: &Principal) -> Result<Option<String>> {
        Ok(self.db.shop_of(&p.user.id).await?.map(|(shop, _)| shop))
    }

    pub async fn disconnect_shop(&self, p: &Principal, client: &Client) -> Result<()> {
        self.db.delete_shop(&p.user.id).await?;
        self.db.audit(Some(&p.user.id), "self", "shop_disconnected", "", &client.network(), now_ms()).await?;
        Ok(())
    }

    /// Queues every ready listing of the batch not pushed yet; how many.
    pub async fn push_batch(&self, p: &Principal, batch_id: &str) -> Result<u64> {
        self.db.listing_batch_of(&p.user.id, batch_id).await?;
        if self.db.shop_of(&p.user.id).await?.is_none() {
            return Err(domain::Invalid::new("no_shop", "shop", "Connect your Shopify store first.").into());
        }
        Ok(self.db.queue_shopify_pushes(&p.user.id, batch_id, now_ms()).await?)
    }

    async fn push_listing(&self, id: &str) -> std::result::Result<(), JobError> {
        let retry = |what: &str, e: &dyn std::fmt::Display| JobError::Retry(format!("{what}: {e}"));
        let l = match self.db.listing(id).await {
            Ok(l) if l.shopify_status.as_deref() == Some("queued") => l,
            Ok(_) | Err(db::DbError::NotFound) => return Ok(()),
            Err(e) => return Err(retry("loading listing", &e)),
        };
        let fail = |why: &str| {
            let (db, id, why) = (self.db.clone(), l.id.clone(), why.to_owned());
            async move {
                db.set_shopify_status(&id, "failed", None, Some(&why), now_ms())
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
        };
        let owner = self.db.user_by_id(&l.user_id).await.map_err(|e| retry("loading its owner", &e))?;
        if owner.suspended_at.is_some() {
            return fail("This account is suspended, so nothing was sent to the store.").await;
        }
        let Some((shop, sealed)) = self.db.shop_of(&l.user_id).await.map_err(|e| retry("shop", &e))? else {
            return fail("No store is connected.").await;
        };
        let key = self.data_key(&l.user_id).await.map_err(|e| retry("data key", &e))?;
        let token = hex::decode(&sealed)
            .ok()
            .and_then(|s| storage::envelope::open(&key, &sealed_path(&l.user_id), &s).ok())
            .and_then(|t| String::from_utf8(t).ok());
        let Some(token) = token else { return fail("The store connection could not be read; connect it again.").await };
        let Some(listing) = l.content.as_deref().and_then(|c| serde_json::from_str::<Listing>(c).ok()) else {
            return fail("The listing has no content.").await;
        };
        let copy =
            [&listing.title, &listing.meta_description, &listing.alt_text].into_iter().chain(&listing.paragraphs);
        if copy.clone().any(|t| t.contains(domain::listing::TBD)) {
            return fail("Fill in the [TBD] parts first.").await;
        }
        let Some(upload) = l.upload_id.clone() else { return fail("The photo was deleted.").await };
        let upload = match self.db.upload_of(&l.user_id, &upload).await {
            Ok(u) => u,
            Err(db::DbError::NotFound) => return fail("The photo was deleted.").await,
            Err(e) => return Err(retry("upload", &e)),
        };
        let photo = self.blobs.get(&key, &upload.original_key).await.map_err(|e| retry("reading photo", &e))?;
        // Shopify takes JPEG or PNG up to 20 MP; a 2048 px JPEG suits every theme.
        let image = self.converted(photo, 2048, Format::Jpeg, 90).await.map_err(|e| retry("converting photo", &e))?;
        let a = &listing.attributes;
        let metafields = [
            ("material", &a.material),
            ("stone", &a.stone),
            ("closure", &a.closure),
            ("collection", &a.collection),
            ("occasion", &a.occasion),
        ]
        .into_iter()
        .filter(|(_, v)| v.as_str() != domain::listing::TBD && !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
        let (_, brand) = self.brand_of(&l.user_id).await.map_err(|e| retry("brand", &e))?;
        let draft = Draft {
            handle: format!("sp-{}", l.id),
            title: listing.title.clone(),
            description_html: listing.description_html(),
            seo_title: listing.title.clone(),
            seo_description: listing.meta_description.clone(),
            tags: listing.tags.clone(),
            product_type: l.jewellery.clone(),
            vendor: brand.brand_name.clone(),
            metafields,
            image,
            image_mime: "image/jpeg".into(),
            image_name: format!("{}.jpg", l.id),
            alt: listing.alt_text.clone(),
        };
        let api = Shopify::new(&self.shop_url(&shop), &token).map_err(|e| retry("client", &e))?;
        match api.create_draft(&draft).await {
            Ok(product) => self
                .db
                .set_shopify_status(&l.id, "pushed", Some(&product), None, now_ms())
                .await
                .map_err(|e| retry("status", &e)),
            Err(providers::shopify::ShopifyError::Refused(why)) => fail(&format!("Shopify refused it: {why}")).await,
            Err(e) => Err(retry("shopify", &e)),
        }
    }
}

/// The queue handler that pushes listings to Shopify.
pub struct PushListings(pub App);

impl Handler for PushListings {
    fn kind(&self) -> &'static str {
        SHOPIFY_JOB
    }

    fn run(&self, job: Job, _ctx: JobContext) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move { app.push_listing(&job.payload).await })
    }

    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            let why = "Shopify could not be reached; push again later.";
            app.db
                .set_shopify_status(&job.payload, "failed", None, Some(why), now_ms())
                .await
                .map_err(|e| JobError::Retry(e.to_string()))
        })
    }
}
