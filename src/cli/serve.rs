//! `mitid-sim serve`.

use std::path::{Path, PathBuf};

use mitid_sim::broker::clock::parse_offset;
use mitid_sim::broker::{SessionSettings, Settings};
use mitid_sim::persistence::user_state_dir;
use mitid_sim::protocols::oidc::Lifetimes;
use mitid_sim::protocols::saml;
use mitid_sim::tls::{ServerTls, TlsError};
use mitid_sim::web::{self, KeySource};

use super::{ClockArgs, FixtureArgs, DEFAULT_PORT};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to bind. Loopback by default: the simulator is not for networks.
    #[arg(long, default_value = "127.0.0.1", env = "MITID_SIM_HOST")]
    pub host: String,
    /// Port to bind; 0 picks a free one.
    #[arg(long, default_value_t = DEFAULT_PORT, env = "MITID_SIM_PORT")]
    pub port: u16,
    /// The URL RPs and browsers use, if not http://<host>:<port> (e.g. behind a proxy).
    #[arg(long, value_name = "URL", env = "MITID_SIM_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    fixtures: FixtureArgs,
    /// Relying parties to register instead of the built-in ones (TOML, see fixtures/clients.toml).
    #[arg(long, value_name = "FILE", env = "MITID_SIM_CLIENTS")]
    clients: Option<PathBuf>,
    /// NemLog-in service providers (SAML SPs) to register instead of the built-in demo SP
    /// (TOML, see fixtures/saml-sps.toml; an entry may name the SP's metadata file).
    #[arg(long, value_name = "FILE", env = "MITID_SIM_SAML_SPS")]
    saml_sps: Option<PathBuf>,
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
    #[command(flatten)]
    pub tls: TlsArgs,
}

#[derive(clap::Args, Clone)]
pub struct TlsArgs {
    /// Serve HTTPS with a certificate from a local CA that mitid-sim creates once and
    /// keeps in --state-dir (else in MITID_SIM_HOME or the per-user state folder).
    #[arg(long, env = "MITID_SIM_TLS")]
    pub tls: bool,
    /// Serve HTTPS with this certificate (PEM, chain leaf first) instead of the local CA's.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        env = "MITID_SIM_TLS_CERT"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        env = "MITID_SIM_TLS_KEY"
    )]
    tls_key: Option<PathBuf>,
}

impl TlsArgs {
    pub fn enabled(&self) -> bool {
        self.tls || self.tls_cert.is_some()
    }

    /// The certificate to serve, if HTTPS is asked for; the local CA covers `names`.
    pub fn load(
        &self,
        state_dir: Option<&Path>,
        names: &[String],
    ) -> Result<Option<ServerTls>, String> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return ServerTls::from_files(cert, key)
                .map(Some)
                .map_err(|e| e.to_string());
        }
        if !self.tls {
            return Ok(None);
        }
        let folder = match state_dir {
            Some(dir) => dir.to_path_buf(),
            None => user_state_dir().ok_or_else(|| TlsError::NoFolder.to_string())?,
        };
        ServerTls::local(&folder, names)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

/// Names the server certificate must cover: the bind address and the public URL's host.
fn certificate_names(host: &str, public_url: Option<&str>) -> Result<Vec<String>, String> {
    let mut names = vec![host.to_string()];
    if let Some(public) = public_url {
        let url = url::Url::parse(public)
            .map_err(|e| format!("--public-url `{public}` is not a URL: {e}"))?;
        if url.scheme() != "https" {
            return Err(format!(
                "--public-url `{public}` must be https:// when the broker serves HTTPS"
            ));
        }
        names.extend(url.host_str().map(str::to_string));
    }
    Ok(names)
}

/// Logins, logouts and back-channel deliveries are logged; RUST_LOG overrides the level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mitid_sim=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

/// A broker's configuration from the command line, and the table of its citizens.
pub struct Prepared {
    pub config: web::Config,
    pub citizens: String,
}

pub fn prepare(args: ServeArgs) -> Result<Prepared, String> {
    let tls = if args.tls.enabled() {
        let names = certificate_names(&args.host, args.public_url.as_deref())?;
        args.tls.load(args.state_dir.as_deref(), &names)?
    } else {
        None
    };
    let population = args.fixtures.load_population()?;
    let identities = population.citizens;
    let clients = super::load_clients(args.clients.as_deref())?;
    let service_providers = match &args.saml_sps {
        Some(path) => saml::sp::from_toml_file(path),
        None => saml::sp::built_in_service_providers(),
    }
    .map_err(|e| e.to_string())?;
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
        nemlogin: web::NemLoginConfig {
            service_providers,
            keys: None,
        },
        tls,
    };
    Ok(Prepared { config, citizens })
}

/// The lines that tell where the broker is, and how to trust its local CA.
pub fn banner(running: &web::Running, ca_file: Option<&Path>) -> String {
    let issuer = running.issuer();
    let mut banner = format!(
        "mitid-sim is running\n  NEB (OpenID Connect)\n    issuer     {issuer}\n    discovery  {issuer}/.well-known/openid-configuration\n    keys       {keys}\n  NemLog-in (OIOSAML 3.0)\n    metadata   {base}{metadata}\n  front page   {base}/\n",
        base = running.base_url,
        keys = running.keys_origin,
        metadata = saml::idp::METADATA_PATH,
    );
    if let Some(ca_file) = ca_file {
        banner.push_str(&format!(
            "  CA           {}\n\n{}",
            ca_file.display(),
            mitid_sim::tls::trust_instructions(ca_file, issuer)
        ));
    }
    banner
}

/// Writes to stdout, ignoring a closed stdout: a supervisor that stopped reading must not
/// stop the broker.
pub fn say(text: &str) {
    let mut stdout = std::io::stdout();
    let _ = std::io::Write::write_all(&mut stdout, text.as_bytes());
    let _ = std::io::Write::flush(&mut stdout);
}

pub fn run(args: ServeArgs) -> Result<(), String> {
    init_logging();
    let Prepared { config, citizens } = prepare(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let config_ca_file = config.tls.as_ref().and_then(|t| t.ca_file.clone());
    runtime.block_on(async move {
        let requested = format!("{}:{}", config.host, config.port);
        let running = web::start(config).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidData => e.to_string(),
            _ => format!("cannot listen on {requested}: {e}"),
        })?;
        let ca_file = config_ca_file;
        say(&format!(
            "{}\n{citizens}\nPress Ctrl-C to stop.\n",
            banner(&running, ca_file.as_deref())
        ));
        running
            .run_until_stopped()
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })
}
