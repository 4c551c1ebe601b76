// openid-client logs in against mitid-sim over HTTPS, as an RP that refuses plain HTTP.
// Usage: node login.mjs <issuer>   (trust the CA with NODE_EXTRA_CA_CERTS=<ca.pem>)
// Prints one JSON line: the verified id_token claims and userinfo, or {"error": ...}.
import * as client from 'openid-client';

const issuer = new URL(process.argv[2]);
const redirectUri = 'http://localhost:8080/callback';

try {
  const config = await client.discovery(issuer, 'demo-rp', 'demo-secret');
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid mitid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    // The broker's simulation mode answers with a code at once, as NEB's does.
    simulation: 'no-ui',
    login_hint: 'username:app.approve',
  });
  const answer = await fetch(url, { redirect: 'manual' });
  const callback = new URL(answer.headers.get('location'));
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  console.log(JSON.stringify({ claims, userinfo }));
} catch (error) {
  const cause = error.cause ? `${error.cause.code ?? ''} ${error.cause.message ?? error.cause}` : '';
  console.log(JSON.stringify({ error: `${error.code ?? error.name}: ${error.message} ${cause}`.trim() }));
  process.exitCode = 1;
}
