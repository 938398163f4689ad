//! The `api` binary: serve the api, provision and migrate the database, seed
//! demo data, print the OpenAPI document, manage admins and keys.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cms_api::db::setup::{self, RolePasswords, APP_ROLE, OWNER_ROLE};
use cms_api::db::Db;
use cms_api::{auth, seed, telemetry, Application, Config};
use diesel::{Connection, PgConnection};

/// mimalloc instead of glibc malloc: every login hashes with argon2id in 19 MiB
/// of memory, and glibc's growing mmap threshold keeps those blocks on its
/// heaps after they are freed (RSS rose from 85 MB to 1 GB over 500 logins).
/// Measured in BENCHMARKS.md ("api memory after a burst of logins").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "api", about = "Landing CMS api service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve /api/v1 (configuration from the environment; see README).
    Serve,
    /// Create the roles (cms_owner, cms_app) and the database if missing, then migrate. Idempotent.
    Setup {
        /// A superuser connection to the server.
        #[arg(
            long,
            env = "DATABASE_ADMIN_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        admin_url: String,
        #[arg(long, env = "CMS_DATABASE_NAME", default_value = "cms")]
        database: String,
        #[arg(long, env = "CMS_OWNER_PASSWORD", default_value = OWNER_ROLE)]
        owner_password: String,
        #[arg(long, env = "CMS_APP_PASSWORD", default_value = APP_ROLE)]
        app_password: String,
    },
    /// Apply or revert migrations as the owner role (MIGRATION_DATABASE_URL).
    Migrate {
        #[arg(value_enum, default_value = "up")]
        direction: Direction,
        #[arg(long, env = "MIGRATION_DATABASE_URL")]
        database_url: String,
    },
    /// Seed the demo tenants, accounts, sites and hosts (DATABASE_URL). Idempotent.
    Seed {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Also seed this many load-test tenants (`scale-N`, host `scale-N.localhost`).
        #[arg(long, default_value_t = 0)]
        scale: usize,
        /// Published pages per load-test landing.
        #[arg(long, default_value_t = 10)]
        scale_pages: usize,
    },
    /// Run background jobs only (the queues of CMS_JOB_QUEUES), without serving HTTP.
    Worker,
    /// Measure the job queue on this database: no-op jobs enqueued and
    /// processed by one worker, then pickup latency (prints JSON).
    BenchJobs {
        #[arg(long, default_value_t = 20_000)]
        jobs: usize,
        #[arg(long, default_value_t = 300)]
        latency_jobs: usize,
        #[arg(long, default_value_t = 20)]
        concurrency: usize,
    },
    /// Measure the image pipeline (prints JSON; `scripts/bench_media.sh`).
    BenchMedia {
        #[command(subcommand)]
        part: MediaBench,
    },
    /// Measure webhook deliveries: signed deliveries to an in-process receiver
    /// that verifies them, by one worker, then delivery latency (prints JSON).
    BenchWebhooks {
        #[arg(long, default_value_t = 5_000)]
        messages: usize,
        #[arg(long, default_value_t = 200)]
        latency_messages: usize,
        #[arg(long, default_value_t = 20)]
        concurrency: usize,
    },
    /// Copy a site (pages, blocks, custom modules, live revisions) under a new name and host.
    CloneSite {
        #[arg(long)]
        site: uuid::Uuid,
        #[arg(long)]
        name: String,
        #[arg(long)]
        domain: String,
        /// Target tenant (slug or id); default the source site's tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Create a platform admin, or reset an existing account's password and make it one.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Platform Admin")]
        name: String,
        /// Read from this environment variable, never from the command line.
        #[arg(long, default_value = "CMS_ADMIN_PASSWORD")]
        password_env: String,
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
    /// Print a new Ed25519 signing key (PKCS#8 PEM).
    GenKey,
    /// Print a new secrets key (base64 of 32 random bytes) for
    /// `CMS_SECRETS_KEY` or the file `CMS_SECRETS_KEY_FILE` names.
    GenSecretsKey,
    /// Stored secrets: `reseal` seals every provider credential and webhook
    /// secret again under the current `CMS_SECRETS_KEY`.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
}

#[derive(Subcommand)]
enum MediaBench {
    /// Write a photo-like JPEG of WIDTH x HEIGHT to OUT.
    Sample {
        #[arg(long)]
        width: u32,
        #[arg(long)]
        height: u32,
        #[arg(long, default_value_t = 90)]
        quality: u8,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Decode IMAGE and make the preset widths in FORMAT, IMAGES times on
    /// each of THREADS threads at once.
    Renditions {
        #[arg(long)]
        image: std::path::PathBuf,
        #[arg(long, value_parser = ["webp", "avif"])]
        format: String,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 4)]
        images: usize,
    },
    /// Decode IMAGE and make its WebP widths; print this process's peak RSS.
    PeakRss {
        #[arg(long)]
        image: std::path::PathBuf,
    },
    /// Upload distinct copies of IMAGE to an api started here on this
    /// database (as the demo editor of alpha; no worker runs).
    Uploads {
        #[arg(long)]
        image: std::path::PathBuf,
        #[arg(long, default_value_t = 256)]
        uploads: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
}

#[derive(Subcommand)]
enum SecretsAction {
    /// Seal every stored secret under the current key (after a rotation, or
    /// for webhook secrets stored in the clear before sealing existed). Safe
    /// to run twice and while serving.
    Reseal,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Direction {
    /// Apply pending migrations.
    Up,
    /// Revert every migration.
    Down,
    /// Revert every migration, then apply them again.
    Redo,
}

type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[actix_web::main]
async fn main() -> ExitCode {
    telemetry::init("info");
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "api failed");
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> CliResult {
    match command {
        Command::Serve => {
            let app = Application::build(Config::from_env()?).await?;
            tracing::info!(port = app.port(), "api listening; docs at /api/docs/");
            app.run_until_stopped().await?;
        }
        Command::Setup {
            admin_url,
            database,
            owner_password,
            app_password,
        } => {
            let passwords = RolePasswords {
                owner: owner_password,
                app: app_password,
            };
            let mut admin = PgConnection::establish(&admin_url)?;
            setup::ensure_roles(&mut admin, &passwords)?;
            let created = setup::ensure_database(&mut admin, &database, None)?;
            let owner_url =
                setup::database_url_with(&admin_url, OWNER_ROLE, &passwords.owner, &database);
            let applied =
                tokio::task::spawn_blocking(move || setup::migrate_up(&owner_url)).await??;
            println!(
                "database {database}: {}; migrations applied: {}",
                if created { "created" } else { "exists" },
                if applied.is_empty() {
                    "none pending".to_owned()
                } else {
                    applied.join(", ")
                }
            );
        }
        Command::Migrate {
            direction,
            database_url,
        } => {
            let report = tokio::task::spawn_blocking(move || -> setup::SetupResult<String> {
                Ok(match direction {
                    Direction::Up => format!("applied: {:?}", setup::migrate_up(&database_url)?),
                    Direction::Down => {
                        format!("reverted: {:?}", setup::migrate_down_all(&database_url)?)
                    }
                    Direction::Redo => {
                        let reverted = setup::migrate_down_all(&database_url)?;
                        let applied = setup::migrate_up(&database_url)?;
                        format!("reverted: {reverted:?}; applied: {applied:?}")
                    }
                })
            })
            .await??;
            println!("{report}");
        }
        Command::Seed {
            database_url,
            scale,
            scale_pages,
        } => {
            let db = Db::connect(&database_url, 2)?;
            db.ensure_role_is_bound_by_rls().await?;
            let keys = cms_api::config::SecretsKeys::from_env()?;
            // With the api's whole configuration, the demo images go through
            // the media library (renditions by the next worker).
            let state = match Config::from_env() {
                Ok(config) => Some(cms_api::app::build_state(config).await?),
                Err(err) => {
                    println!("demo images: the renderer's own files ({err}; the media library needs the api's configuration)");
                    None
                }
            };
            print!(
                "{}",
                seed::seed_demo(&db, &keys, state.as_ref().map(|state| state.get_ref())).await?
            );
            if scale > 0 {
                print!("{}", seed::seed_scale(&db, scale, scale_pages).await?);
            }
        }
        Command::Worker => {
            let state = cms_api::app::build_state(Config::from_env()?).await?;
            cms_api::jobs::worker::run_until_stopped(
                state,
                cms_api::jobs::handlers::Registry::standard(),
            )
            .await;
        }
        Command::BenchJobs {
            jobs,
            latency_jobs,
            concurrency,
        } => {
            let mut config = Config::from_env()?;
            config.jobs_in_serve = false;
            let state = cms_api::app::build_state(config).await?;
            let report = cms_api::jobs::bench::run(state, jobs, latency_jobs, concurrency).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::BenchMedia { part } => bench_media(part).await?,
        Command::BenchWebhooks {
            messages,
            latency_messages,
            concurrency,
        } => {
            let mut config = Config::from_env()?;
            config.jobs_in_serve = false;
            // The receiver listens on loopback, which the outbound guard refuses.
            config.outbound.allow_nets = vec!["127.0.0.1/32".parse()?];
            // A failed delivery is retried at once, so a failing run ends sooner.
            config.webhook_schedule_scale = 0.0;
            let state = cms_api::app::build_state(config).await?;
            let report =
                cms_api::webhooks::bench::run(state, messages, latency_messages, concurrency)
                    .await?;
            println!("{}", serde_json::to_string(&report)?);
            if let Some(problem) = report.problem() {
                return Err(problem.into());
            }
        }
        Command::CloneSite {
            site,
            name,
            domain,
            tenant,
            database_url,
        } => {
            let db = Db::connect(&database_url, 2)?;
            db.ensure_role_is_bound_by_rls().await?;
            let copy =
                cms_api::content::transfer::clone_as_system(&db, site, &name, &domain, tenant)
                    .await?;
            println!(
                "cloned site {site} as {} ({}) on {domain}",
                copy.id, copy.name
            );
        }
        Command::Openapi => {
            println!("{}", cms_api::openapi().to_pretty_json()?);
        }
        Command::CreateAdmin {
            email,
            name,
            password_env,
            database_url,
        } => {
            let password = std::env::var(&password_env)
                .map_err(|_| format!("set {password_env} to the new admin's password"))?;
            if password.chars().count() < 12 {
                return Err("the password must be at least 12 characters".into());
            }
            let db = Db::connect(&database_url, 2)?;
            let hash =
                tokio::task::spawn_blocking(move || auth::password::hash(&password)).await??;
            let id = seed::ensure_platform_admin(&db, &email, &name, hash).await?;
            println!("platform admin {email} ({id}) is ready");
        }
        Command::GenKey => {
            print!("{}", auth::tokens::SigningKey::generate_pem()?);
        }
        Command::GenSecretsKey => {
            println!("{}", cms_api::config::generate_secrets_key());
        }
        Command::Secrets {
            action: SecretsAction::Reseal,
            database_url,
        } => {
            let keys = cms_api::config::SecretsKeys::from_env()?;
            let db = Db::connect(&database_url, 2)?;
            db.ensure_role_is_bound_by_rls().await?;
            let total = cms_api::secrets::reseal::reseal_all(&db, &keys, |tenant, counts| {
                println!(
                    "{tenant}: {} resealed, {} already current, {} unreadable",
                    counts.resealed, counts.current, counts.unreadable
                );
            })
            .await?;
            println!(
                "all tenants: {} resealed, {} already current, {} unreadable",
                total.resealed, total.current, total.unreadable
            );
            if total.unreadable > 0 {
                return Err(format!(
                    "{} secrets did not open with CMS_SECRETS_KEY or CMS_SECRETS_KEY_OLD: \
                     they were left as they are",
                    total.unreadable
                )
                .into());
            }
        }
    }
    Ok(())
}

/// `api bench-media ...`: each part prints one JSON line.
async fn bench_media(part: MediaBench) -> CliResult {
    use cms_api::media::bench;
    match part {
        MediaBench::Sample {
            width,
            height,
            quality,
            out,
        } => {
            let jpeg = cms_imaging::sample_photo_jpeg(width, height, 7, quality)?;
            std::fs::write(&out, &jpeg)?;
            println!("{}", serde_json::json!({"out": out, "bytes": jpeg.len()}));
        }
        MediaBench::Renditions {
            image,
            format,
            threads,
            images,
        } => {
            let media = cms_api::config::MediaConfig::from_env()?;
            let format = if format == "avif" {
                cms_imaging::Format::Avif
            } else {
                cms_imaging::Format::Webp
            };
            let jpeg = std::fs::read(image)?;
            let report = bench::renditions(&media, &jpeg, format, threads, images)?;
            println!("{}", serde_json::to_string(&report)?);
        }
        MediaBench::PeakRss { image } => {
            let media = cms_api::config::MediaConfig::from_env()?;
            let jpeg = std::fs::read(image)?;
            println!("{}", bench::peak_rss(&media, &jpeg)?);
        }
        MediaBench::Uploads {
            image,
            uploads,
            concurrency,
        } => {
            let jpeg = std::fs::read(image)?;
            let report = bench::uploads(
                Config::from_env()?,
                jpeg,
                uploads,
                concurrency,
                ("editor@alpha.example", seed::DEMO_PASSWORD),
            )
            .await
            .map_err(|err| err.to_string())?;
            println!("{report}");
        }
    }
    Ok(())
}
