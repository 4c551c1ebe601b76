//! `mitid-sim serve`.

use std::path::PathBuf;

use mitid_sim::broker::clock::parse_offset;
use mitid_sim::broker::{SessionSettings, Settings};
use mitid_sim::protocols::oidc::Lifetimes;
use mitid_sim::web::{self, KeySource};

use super::{ClockArgs, FixtureArgs, DEFAULT_PORT};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to bind. Loopback by default: the simulator is not for networks.
    #[arg(long, default_value = "127.0.0.1", env = "MITID_SIM_HOST")]
    host: String,
    /// Port to bind; 0 picks a free one.
    #[arg(long, default_value_t = DEFAULT_PORT, env = "MITID_SIM_PORT")]
    port: u16,
    /// The URL RPs and browsers use, if not http://<host>:<port> (e.g. behind a proxy).
    #[arg(long, value_name = "URL", env = "MITID_SIM_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    fixtures: FixtureArgs,
    /// Relying parties to register instead of the built-in ones (TOML, see fixtures/clients.toml).
    #[arg(long, value_name = "FILE", env = "MITID_SIM_CLIENTS")]
    clients: Option<PathBuf>,
    /// Folder with rs256.pem and es256.pem (private key and certificate each) to sign
    /// with, e.g. the test-only `certs`. Without it (and without --fresh-keys) the keys are
    /// kept across restarts: in --state-dir, else in the per-user folder.
    #[arg(
        long,
        value_name = "DIR",
        env = "MITID_SIM_KEYS",
        conflicts_with = "fresh_keys"
    )]
    keys: Option<PathBuf>,
    /// New signing keys and certificates for this run only (RPs that pinned the kept
    /// certificate will refuse the tokens).
    #[arg(long)]
    fresh_keys: bool,
    /// How long an app request waits for the swipe.
    #[arg(long, default_value = "2m", value_parser = parse_offset)]
    app_timeout: time::Duration,
    /// How long three wrong code-display codes block the device.
    #[arg(long, default_value = "15m", value_parser = parse_offset)]
    code_block: time::Duration,
    /// A broker session nobody used for this long ends (back-channel logout follows).
    #[arg(long, default_value = "1h", value_parser = parse_offset)]
    session_idle: time::Duration,
    /// A broker session ends this long after it began, whatever the activity.
    #[arg(long, default_value = "8h", value_parser = parse_offset)]
    session_absolute: time::Duration,
    /// The most logins in progress at once (each started by an authorization request);
    /// beyond it the oldest one ends, so a flood cannot grow the broker without limit.
    #[arg(
        long,
        value_name = "N",
        default_value_t = mitid_sim::flow::DEFAULT_MAX_PENDING_LOGINS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000),
        env = "MITID_SIM_MAX_PENDING_LOGINS"
    )]
    max_pending_logins: usize,
    /// Keep runtime changes (citizens, clients, keys, used code-card keys) in this folder
    /// across restarts; without it, state lives in memory.
    #[arg(long, value_name = "DIR", env = "MITID_SIM_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Bearer token for the admin API; required when --host is not a loopback address or
    /// --public-url names another host (a proxy). An empty token counts as none.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "MITID_SIM_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    #[command(flatten)]
    clock: ClockArgs,
}

pub fn run(args: ServeArgs) -> Result<(), String> {
    // Logins, logouts and back-channel deliveries are logged; RUST_LOG overrides the level.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mitid_sim=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let population = args.fixtures.load_population()?;
    let identities = population.citizens;
    let clients = super::load_clients(args.clients.as_deref())?;
    let keys = match &args.keys {
        Some(dir) => KeySource::Folder(dir.clone()),
        None if args.fresh_keys => KeySource::Fresh,
        None => KeySource::Default,
    };
    let citizens = super::users::citizen_table(&identities);
    let config = web::Config {
        host: args.host,
        port: args.port,
        public_url: args.public_url,
        identities,
        workforce: population.workforce,
        clients,
        keys,
        settings: Settings {
            app_timeout: args.app_timeout,
            code_display_block: args.code_block,
            max_pending_logins: args.max_pending_logins,
            sessions: SessionSettings {
                idle: args.session_idle,
                absolute: args.session_absolute,
            },
            ..Settings::default()
        },
        lifetimes: Lifetimes::default(),
        clock: args.clock.clock(),
        workers: None,
        backchannel_retry: Default::default(),
        admin_token: args.admin_token,
        state_dir: args.state_dir,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let requested = format!("{}:{}", config.host, config.port);
        let running = web::start(config).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidData => e.to_string(),
            _ => format!("cannot listen on {requested}: {e}"),
        })?;
        // A closed stdout (a supervisor that stopped reading) must not stop the broker.
        let banner = format!(
            "mitid-sim is running (NEB personality)\n  issuer     {issuer}\n  discovery  {issuer}/.well-known/openid-configuration\n  front page {base}/\n  keys       {keys}\n\n{citizens}\nPress Ctrl-C to stop.\n",
            issuer = running.issuer(),
            base = running.base_url,
            keys = running.keys_origin,
        );
        let mut stdout = std::io::stdout();
        let _ = std::io::Write::write_all(&mut stdout, banner.as_bytes());
        let _ = std::io::Write::flush(&mut stdout);
        running
            .run_until_stopped()
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })
}
