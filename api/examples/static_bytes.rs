//! Benchmark baseline: an actix-web server that answers every GET with the
//! same bytes from memory (what a delivery cache hit returns), so `make bench`
//! can put the delivery figures next to the fastest the framework does here.
//!
//! Usage: `static_bytes <file> <addr> [content-type]` (default `application/json`).

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(addr)) = (args.next(), args.next()) else {
        eprintln!("usage: static_bytes <file> <addr>");
        std::process::exit(2);
    };
    let content_type: &'static str = args.next().map_or("application/json", |value| {
        Box::leak(value.into_boxed_str())
    });
    let body = web::Bytes::from(std::fs::read(file)?);
    HttpServer::new(move || {
        let body = body.clone();
        App::new().default_service(web::to(move || {
            let body = body.clone();
            async move {
                HttpResponse::Ok()
                    .content_type(content_type)
                    .insert_header(("Cache-Control", "public, max-age=30"))
                    .body(body)
            }
        }))
    })
    .bind(addr)?
    .run()
    .await
}
