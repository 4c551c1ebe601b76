//! `mitid-sim demo`: the broker and "Min Side", a demo service that logs citizens in
//! through it, on a second port. Nothing is opened; both URLs are printed.

use std::time::Duration;

use mitid_sim::broker::clock::parse_offset;
use mitid_sim::demo::{self, Settings};
use mitid_sim::web;

use super::serve::{self, Prepared, ServeArgs};

#[derive(clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    broker: ServeArgs,
    /// Port of Min Side, the demo service (on the broker's --host); 0 picks a free one.
    #[arg(long, default_value_t = demo::DEFAULT_PORT, env = "MITID_SIM_SERVICE_PORT")]
    service_port: u16,
    /// A Min Side session nobody used for this long ends.
    #[arg(long, default_value = "15m", value_parser = parse_offset)]
    service_idle: time::Duration,
    /// A Min Side session ends this long after login, whatever the activity.
    #[arg(long, default_value = "8h", value_parser = parse_offset)]
    service_absolute: time::Duration,
}

/// Citizens worth trying on Min Side, and what each shows.
const SHOWCASE: [&str; 6] = [
    "foraelder",
    "navne.forskel",
    "vaerge",
    "fuldmagt",
    "beskyttet",
    "uden.cpr",
];

fn positive(duration: time::Duration, option: &str) -> Result<Duration, String> {
    Duration::try_from(duration)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{option} must be longer than zero"))
}

pub fn run(args: DemoArgs) -> Result<(), String> {
    let settings = Settings {
        idle: positive(args.service_idle, "--service-idle")?,
        absolute: positive(args.service_absolute, "--service-absolute")?,
        ..Settings::default()
    };
    serve::init_logging();
    let host = args.broker.host.clone();
    let Prepared { config, .. } = serve::prepare(args.broker)?;
    let tls = config.tls.clone();
    let ca_file = tls.as_ref().and_then(|t| t.ca_file.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let requested = format!("{}:{}", config.host, config.port);
        let running = web::start(config).map_err(|e| format!("cannot listen on {requested}: {e}"))?;
        let broker_banner = serve::banner(&running, ca_file.as_deref());
        let (_, _, provider, broker) = running.spawn();
        let bound = demo::bind(&host, args.service_port, tls.is_some()).map_err(|e| {
            format!("cannot listen on {host}:{} for Min Side: {e}", args.service_port)
        })?;
        let secret = mitid_sim::demo::oidc::random_token();
        provider
            .clients
            .insert(demo::registration(&bound.base_url, demo::CLIENT_ID, &secret)?);
        let min_side = demo::start(
            demo::Config {
                issuer: provider.issuer.clone(),
                client_id: demo::CLIENT_ID.into(),
                client_secret: secret,
                settings,
                broker_ca: tls.as_ref().and_then(|t| t.ca_pem()),
                tls,
            },
            bound,
        )
        .await?;
        let mut showcase = String::new();
        for user in SHOWCASE {
            if let Some(citizen) = provider.broker.identities.by_user_id(user) {
                showcase.push_str(&format!(
                    "  {:<14} {:<26} {}\n",
                    citizen.user_id.as_str(),
                    citizen.name,
                    citizen.purpose
                ));
            }
        }
        serve::say(&format!(
            "Min Side (demo service) {base}/\n  open it in a browser, press \"Log på med MitID\", and log in as one of these\n  citizens (their MitID app approves by itself; `mitid-sim users list` has them all):\n{showcase}\n{broker_banner}\nPress Ctrl-C to stop.\n",
            base = min_side.base_url,
        ));
        let _ = tokio::signal::ctrl_c().await;
        min_side.stop().await;
        broker.stop(true).await;
        Ok(())
    })
}
