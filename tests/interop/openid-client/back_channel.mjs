// Node's openid-client (OpenID-certified) as the RP of mitid-sim's back channel and token
// protection: private_key_jwt at token, introspection and revocation; client_credentials;
// JWE id_tokens and signed-then-encrypted userinfo; DPoP-bound tokens at userinfo.
//
// Driven by tests/api/openid_client_back_channel.rs, which starts the broker on port 0,
// registers the clients and passes this script a JSON configuration in MITID_SIM_CONFIG:
//   { issuer, redirect_uri, user,
//     private_key_jwt: { client_id, key (private JWK) },
//     client_credentials: { client_id, key (private JWK), scope },
//     encryption: { client_id, client_secret, key (private JWK) },
//     dpop: { client_id, client_secret } }
// It prints one JSON object: what the library accepted from the broker, per mode. Any
// refusal by the library ends the script with its error on standard error.

import * as client from 'openid-client';
import * as jose from 'jose';

const config = JSON.parse(process.env.MITID_SIM_CONFIG);
const issuer = new URL(config.issuer);
const insecure = { execute: [client.allowInsecureRequests] };

async function privateKey(jwk, alg) {
  return { key: await jose.importJWK(jwk, alg), kid: jwk.kid };
}

// A code-flow login with PKCE, state and nonce; the browser part is the broker's page-less
// simulation (NEB's `simulation=no-ui`), so the redirect carries the code at once.
async function login(configuration, scope, options) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: config.redirect_uri,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    simulation: `no-ui username:${config.user}`,
  });
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (!location || !location.startsWith(config.redirect_uri)) {
    throw new Error(`the authorization request answered ${response.status} ${location}`);
  }
  return client.authorizationCodeGrant(
    configuration,
    new URL(location),
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
    undefined,
    options,
  );
}

async function privateKeyJwt() {
  const { client_id, key } = config.private_key_jwt;
  const metadata = { token_endpoint_auth_method: 'private_key_jwt' };
  const authentication = client.PrivateKeyJwt(await privateKey(key, 'RS256'));
  const discovered = await client.discovery(issuer, client_id, metadata, authentication, insecure);
  // NEB's discovery names the introspection and revocation methods but not the endpoints
  // (as recorded); an RP configures them, as here.
  const configuration = new client.Configuration(
    {
      ...discovered.serverMetadata(),
      introspection_endpoint: `${config.issuer}/connect/introspect`,
      revocation_endpoint: `${config.issuer}/connect/revocation`,
    },
    client_id,
    metadata,
    authentication,
  );
  client.allowInsecureRequests(configuration);
  const tokens = await login(configuration, 'openid mitid');
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
  const introspection = await client.tokenIntrospection(configuration, tokens.access_token);
  await client.tokenRevocation(configuration, tokens.access_token);
  const afterRevocation = await client.tokenIntrospection(configuration, tokens.access_token);
  return {
    sub: claims.sub,
    aud: claims.aud,
    userinfo_sub: userinfo.sub,
    introspection_active: introspection.active,
    introspection_client_id: introspection.client_id,
    active_after_revocation: afterRevocation.active,
  };
}

async function clientCredentials() {
  const { client_id, key, scope } = config.client_credentials;
  const configuration = await client.discovery(
    issuer,
    client_id,
    { token_endpoint_auth_method: 'private_key_jwt' },
    client.PrivateKeyJwt(await privateKey(key, 'ES256')),
    insecure,
  );
  const tokens = await client.clientCredentialsGrant(configuration, { scope });
  return {
    token_type: tokens.token_type,
    expires_in: tokens.expiresIn(),
    scope: tokens.scope,
    access_token: tokens.access_token,
  };
}

async function encryption() {
  const { client_id, client_secret, key } = config.encryption;
  const configuration = await client.discovery(
    issuer,
    client_id,
    {
      client_secret,
      id_token_encrypted_response_alg: 'RSA-OAEP-256',
      id_token_encrypted_response_enc: 'A256GCM',
      userinfo_signed_response_alg: 'RS256',
      userinfo_encrypted_response_alg: 'RSA-OAEP-256',
      userinfo_encrypted_response_enc: 'A256GCM',
    },
    client.ClientSecretBasic(client_secret),
    insecure,
  );
  client.enableDecryptingResponses(
    configuration,
    ['A256GCM'],
    await privateKey(key, 'RSA-OAEP-256'),
  );
  const tokens = await login(configuration, 'openid mitid');
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
  return {
    id_token_parts: tokens.id_token.split('.').length,
    sub: claims.sub,
    nonce_checked: typeof claims.nonce === 'string',
    userinfo_sub: userinfo.sub,
    userinfo_iss: userinfo.iss,
    mitid_uuid: userinfo['mitid.uuid'],
  };
}

async function dpop() {
  const { client_id, client_secret } = config.dpop;
  const configuration = await client.discovery(
    issuer,
    client_id,
    { client_secret },
    client.ClientSecretPost(client_secret),
    insecure,
  );
  const keyPair = await client.randomDPoPKeyPair('ES256');
  const handle = client.getDPoPHandle(configuration, keyPair);
  const tokens = await login(configuration, 'openid mitid', { DPoP: handle });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub, {
    DPoP: handle,
  });
  const jwk = await jose.exportJWK(keyPair.publicKey);
  return {
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    thumbprint: await jose.calculateJwkThumbprint(jwk, 'sha256'),
    userinfo_sub: userinfo.sub,
    sub: claims.sub,
  };
}

const results = {
  private_key_jwt: await privateKeyJwt(),
  client_credentials: await clientCredentials(),
  encryption: await encryption(),
  dpop: await dpop(),
};
process.stdout.write(JSON.stringify(results));
