// A relying party built on openid-client (OpenID-certified), driven step by step by
// tests/api/front_channel_interop.rs: `begin` makes the authorization request the library
// builds for a scenario, the test logs a citizen in through the broker's pages, and
// `complete` hands the library the authorization response the browser got, for it to
// verify and redeem.
//
//   node rp.mjs begin <scenario>      prints {"url": ..., "checks": {...}}
//   node rp.mjs complete <scenario>   reads {"checks": ..., "response": ...} on stdin,
//                                     prints {"claims": ..., "userinfo": ...}
//
// Scenarios: form_post (code flow, response_mode=form_post), implicit (id_token, fragment),
// hybrid (code id_token, fragment), hybrid_form_post, jar (signed request object), jar_encrypted
// (signed, then encrypted to the broker's `use: enc` key with jose, openid-client's own JOSE
// library: openid-client 6 signs request objects but does not encrypt them), par (pushed),
// par_jar (a signed request object, pushed), jar_unregistered_key (signed by a key the
// client never registered: the broker must refuse it).
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SIGNING_KEY (PKCS#8 PEM of the
// client's RS256 key) and SIGNING_KID. Errors print {"error": ...} and exit 1.
import * as client from 'openid-client';
import * as jose from 'jose';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

async function configure(scenario) {
  const execute = [client.allowInsecureRequests];
  if (scenario === 'implicit') execute.push(client.useIdTokenResponseType);
  if (scenario.startsWith('hybrid')) execute.push(client.useCodeIdTokenResponseType);
  return client.discovery(
    new URL(env('ISSUER')),
    env('CLIENT_ID'),
    env('CLIENT_SECRET'),
    client.ClientSecretBasic(env('CLIENT_SECRET')),
    { execute },
  );
}

async function signingKey(registered) {
  if (!registered) {
    const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
    return { key: privateKey, kid: 'never-registered' };
  }
  const key = await jose.importPKCS8(env('SIGNING_KEY'), 'RS256');
  return { key, kid: env('SIGNING_KID') };
}

// The signed request object, encrypted to the broker's encryption key from its JWKS.
async function encryptRequest(config, url) {
  const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json();
  const jwk = jwks.keys.find((key) => key.use === 'enc');
  if (!jwk) throw new Error('the broker publishes no encryption key');
  const alg = config.serverMetadata().request_object_encryption_alg_values_supported[0];
  const publicKey = await jose.importJWK(jwk, alg);
  const signed = url.searchParams.get('request');
  const encrypted = await new jose.CompactEncrypt(new TextEncoder().encode(signed))
    .setProtectedHeader({ alg, enc: 'A256GCM', cty: 'JWT', kid: jwk.kid })
    .encrypt(publicKey);
  url.searchParams.set('request', encrypted);
  return url;
}

async function begin(scenario) {
  const config = await configure(scenario);
  const checks = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier: client.randomPKCECodeVerifier(),
  };
  const params = {
    redirect_uri: env('REDIRECT_URI'),
    scope: 'openid mitid',
    state: checks.state,
    nonce: checks.nonce,
  };
  if (scenario !== 'implicit') {
    params.code_challenge = await client.calculatePKCECodeChallenge(checks.verifier);
    params.code_challenge_method = 'S256';
  }
  if (scenario === 'form_post' || scenario === 'hybrid_form_post') {
    params.response_mode = 'form_post';
  }
  let url;
  switch (scenario) {
    case 'form_post':
    case 'implicit':
    case 'hybrid':
    case 'hybrid_form_post':
      url = client.buildAuthorizationUrl(config, params);
      break;
    case 'jar':
      url = await client.buildAuthorizationUrlWithJAR(config, params, await signingKey(true));
      break;
    case 'jar_unregistered_key':
      url = await client.buildAuthorizationUrlWithJAR(config, params, await signingKey(false));
      break;
    case 'jar_encrypted':
      url = await encryptRequest(
        config,
        await client.buildAuthorizationUrlWithJAR(config, params, await signingKey(true)),
      );
      break;
    case 'par':
      url = await client.buildAuthorizationUrlWithPAR(config, params);
      break;
    case 'par_jar': {
      const signed = await client.buildAuthorizationUrlWithJAR(
        config,
        params,
        await signingKey(true),
      );
      url = await client.buildAuthorizationUrlWithPAR(config, signed.searchParams);
      break;
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
  return { url: url.href, checks };
}

async function readStdin() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

// What the browser brought back: a redirect (query or fragment) or a posted form.
function authorizationResponse(response) {
  if (response.location) return new URL(response.location);
  return new Request(response.form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(response.form.fields).toString(),
  });
}

async function complete(scenario) {
  const { checks, response } = await readStdin();
  const config = await configure(scenario);
  const input = authorizationResponse(response);
  if (scenario === 'implicit') {
    const claims = await client.implicitAuthentication(config, input, checks.nonce, {
      expectedState: checks.state,
    });
    return { claims };
  }
  const tokens = await client.authorizationCodeGrant(config, input, {
    pkceCodeVerifier: checks.verifier,
    expectedState: checks.state,
    expectedNonce: checks.nonce,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  return { claims, userinfo };
}

const [command, scenario] = process.argv.slice(2);
try {
  const result = command === 'begin' ? await begin(scenario) : await complete(scenario);
  console.log(JSON.stringify(result));
} catch (error) {
  const cause = error.cause ? ` (${JSON.stringify(error.cause)})` : '';
  console.log(JSON.stringify({ error: `${error.code ?? error.name}: ${error.message}${cause}` }));
  process.exitCode = 1;
}
