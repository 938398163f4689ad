//! Demo data for `make run` (development only): the accounts, tenants, sites and
//! hosts listed in the README. Every step checks before it writes, so seeding
//! twice changes nothing.

use uuid::Uuid;

use crate::auth::password;
use crate::auth::roles::Role;
use crate::content::demo::{self, DemoImages};
use crate::content::transfer;
use crate::db::audit::{Actor, Audit};
use crate::db::media as media_store;
use crate::db::memberships::{self, NewMembership};
use crate::db::routing;
use crate::db::tenants::{self, NewTenant};
use crate::db::users::{self, NewUser};
use crate::db::{Db, Scope};
use crate::error::ApiError;
use crate::media::{self, resolve, Upload};
use crate::secrets::Keys;
use crate::state::AppState;

pub const DEMO_PASSWORD: &str = "demo-password";
pub const PLATFORM_ADMIN_EMAIL: &str = "admin@example.com";

struct DemoTenant {
    slug: &'static str,
    name: &'static str,
    editor: &'static str,
    site: &'static str,
    host: &'static str,
    time_zone: &'static str,
}

const DEMO_TENANTS: [DemoTenant; 2] = [
    DemoTenant {
        slug: "alpha",
        name: "Alpha Clinics",
        editor: "editor@alpha.example",
        site: "Alpha Clinic Landing",
        host: "alpha.localhost",
        time_zone: "Europe/Moscow",
    },
    DemoTenant {
        slug: "beta",
        name: "Beta Marketing",
        editor: "editor@beta.example",
        site: "Beta Product Landing",
        host: "beta.localhost",
        time_zone: "Europe/Berlin",
    },
];

/// Creates or updates a platform admin account; answers its id.
pub async fn ensure_platform_admin(
    db: &Db,
    email: &str,
    name: &str,
    password_hash: String,
) -> Result<Uuid, ApiError> {
    let (email, name) = (email.to_owned(), name.to_owned());
    db.tx(Scope::global(), move |conn| {
        let id = match users::find_by_email(conn, &email)? {
            Some(user) => {
                users::set_password(conn, user.id, &password_hash)?;
                user.id
            }
            None => {
                users::insert(
                    conn,
                    &NewUser {
                        id: Uuid::now_v7(),
                        email: &email,
                        name: &name,
                        password_hash: &password_hash,
                        is_platform_admin: true,
                    },
                )?
                .id
            }
        };
        users::set_platform_admin(conn, id, true)?;
        Ok(id)
    })
    .await
}

async fn ensure_user(
    db: &Db,
    email: String,
    name: String,
    password_hash: String,
) -> Result<Uuid, ApiError> {
    db.tx(Scope::global(), move |conn| {
        if let Some(user) = users::find_by_email(conn, &email)? {
            return Ok(user.id);
        }
        Ok(users::insert(
            conn,
            &NewUser {
                id: Uuid::now_v7(),
                email: &email,
                name: &name,
                password_hash: &password_hash,
                is_platform_admin: false,
            },
        )?
        .id)
    })
    .await
}

/// Uploads the demo landing's images to the tenant's media library through
/// the upload pipeline (the same bytes again answer the media they made:
/// safe to run twice); their renditions are made by the next worker.
async fn upload_demo_images(state: &AppState, tenant_id: Uuid) -> Result<DemoImages, ApiError> {
    let mut ids = Vec::with_capacity(DemoImages::FILES.len());
    for (name, bytes, alt) in DemoImages::FILES {
        let audit = Audit {
            actor: Actor {
                user_id: None,
                request_id: Some("seed".into()),
            },
            tenant_id,
        };
        let upload = Upload {
            bytes: bytes::Bytes::from_static(bytes),
            file_name: format!("{name}.jpg"),
            alt: alt.to_owned(),
            title: format!("Demo {name}"),
            tags: vec!["demo".to_owned()],
        };
        ids.push(media::upload(state, audit, None, upload).await?.media.id);
    }
    Ok(DemoImages {
        hero: ids[0],
        doctor: ids[1],
        clinic: ids[2],
    })
}

/// Seeds the demo data; answers a summary for the console.
/// `keys` seal the demo webhook endpoint's secret (`CMS_SECRETS_KEY`).
/// With `media` (the app's state), the demo landing's images are uploaded
/// to each tenant's media library and its blocks use them; without, they
/// are the renderer's own demo files.
pub async fn seed_demo(db: &Db, keys: &Keys, media: Option<&AppState>) -> Result<String, ApiError> {
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD))
        .await
        .map_err(ApiError::internal)??;
    let admin_id =
        ensure_platform_admin(db, PLATFORM_ADMIN_EMAIL, "Platform Admin", hash.clone()).await?;
    let mut summary = format!("platform admin: {PLATFORM_ADMIN_EMAIL} / {DEMO_PASSWORD}\n");
    for demo in DEMO_TENANTS {
        let tenant_id = db
            .tx(Scope::global(), move |conn| {
                if let Some(tenant) = tenants::find_by_key(conn, demo.slug)? {
                    return Ok(tenant.id);
                }
                Ok(tenants::insert(
                    conn,
                    &NewTenant {
                        id: Uuid::now_v7(),
                        slug: demo.slug,
                        name: demo.name,
                    },
                )?
                .id)
            })
            .await?;
        let editor_id = ensure_user(
            db,
            demo.editor.to_owned(),
            format!("{} Editor", demo.name),
            hash.clone(),
        )
        .await?;
        let doctor_id = ensure_user(
            db,
            format!("doctor@{}.example", demo.slug),
            "Dr. Anna Ivanova".into(),
            hash.clone(),
        )
        .await?;
        let mut patient_users = Vec::new();
        for (email, name, phone) in [
            ("patient", "Maria Patient", "+79160000001"),
            ("patient2", "Pavel Patient", "+79160000002"),
        ] {
            let id = ensure_user(
                db,
                format!("{email}@{}.example", demo.slug),
                name.into(),
                hash.clone(),
            )
            .await?;
            patient_users.push((id, name, phone));
        }
        let images = match media {
            Some(state) => Some(upload_demo_images(state, tenant_id).await?),
            None => None,
        };
        let media_config = media.map(|state| state.config.media.clone());
        let people = crate::clinic::demo::DemoPeople {
            doctor_user: doctor_id,
            patient_users: patient_users.clone(),
        };
        let keys = keys.clone();
        db.tx(Scope::tenant(tenant_id, admin_id), move |conn| {
            let mut members = vec![
                (admin_id, Role::Owner),
                (editor_id, Role::Editor),
                (doctor_id, Role::Doctor),
            ];
            members.extend(patient_users.iter().map(|(id, _, _)| (*id, Role::Patient)));
            for (user_id, role) in members {
                if memberships::find_for_user(conn, tenant_id, user_id)?.is_none() {
                    memberships::insert(
                        conn,
                        &NewMembership {
                            id: Uuid::now_v7(),
                            tenant_id,
                            user_id,
                            role,
                        },
                    )?;
                }
            }
            let audit = Audit {
                actor: Actor {
                    user_id: None,
                    request_id: Some("seed".into()),
                },
                tenant_id,
            };
            if routing::host(conn, demo.host)?.is_none() {
                transfer::import(
                    conn,
                    &audit,
                    demo::demo_document(demo.site, images),
                    demo.site,
                    demo.host,
                )?;
                // The live pages show the media as they are now (renditions
                // made later refresh them again).
                if let (Some(images), Some(config)) = (images, media_config.as_ref()) {
                    for id in images.ids() {
                        if let Some(found) = media_store::find(conn, id)? {
                            resolve::refresh_live(conn, config, &found)?;
                        }
                    }
                }
            }
            crate::clinic::demo::seed(conn, tenant_id, demo.time_zone, &people)?;
            if let Some(images) = images {
                crate::db::doctors::set_missing_photos(conn, images.doctor)?;
            }
            crate::notifications::templates::seed_defaults(conn, tenant_id)?;
            crate::webhooks::seed_demo_endpoint(conn, &audit, &keys)?;
            crate::experiments::demo::seed(conn, demo.host)?;
            Ok(())
        })
        .await?;
        summary.push_str(&format!(
            "tenant {}: editor {} / {DEMO_PASSWORD}, site on http://{}:8081/\n",
            demo.slug, demo.editor, demo.host
        ));
    }
    Ok(summary)
}

/// Load-test data: `tenants` extra tenants `scale-N`, each with one published
/// landing of `pages` pages on host `scale-N.localhost`, its home page
/// running two experiments. Idempotent.
pub async fn seed_scale(db: &Db, tenants_count: usize, pages: usize) -> Result<String, ApiError> {
    let mut created = 0;
    for index in 1..=tenants_count {
        let slug = format!("scale-{index}");
        let host = format!("{slug}.localhost");
        let created_now = db
            .tx(Scope::global(), move |conn| {
                let tenant_id = match tenants::find_by_key(conn, &slug)? {
                    Some(tenant) => tenant.id,
                    None => {
                        tenants::insert(
                            conn,
                            &NewTenant {
                                id: Uuid::now_v7(),
                                slug: &slug,
                                name: &format!("Scale client {index}"),
                            },
                        )?
                        .id
                    }
                };
                if routing::host(conn, &host)?.is_some() {
                    return Ok(false);
                }
                crate::db::set_scope(
                    conn,
                    Scope {
                        tenant_id: Some(tenant_id),
                        user_id: None,
                    },
                )?;
                let audit = Audit {
                    actor: Actor {
                        user_id: None,
                        request_id: Some("seed".into()),
                    },
                    tenant_id,
                };
                let name = format!("Scale landing {index}");
                let mut document = demo::landing_document(&name, pages);
                // Like real campaign landings, the headline may follow the
                // campaign: the renderer keeps one shell per campaign value.
                document.site.analytics = serde_json::json!({"content_utm": ["utm_campaign"]});
                transfer::import(conn, &audit, document, &name, &host)?;
                crate::experiments::demo::seed_pair(conn, &host)?;
                Ok(true)
            })
            .await?;
        created += usize::from(created_now);
    }
    Ok(format!(
        "scale seed: {tenants_count} tenants with {pages} pages each ({created} created now)\n"
    ))
}
