// panva's oidc-provider (OpenID Certified) on 127.0.0.1, for tests/logins/interop_oidc_provider.rs.
//
// Environment:
//   OIDC_PORT           port to listen on (default 0: any free port)
//   OIDC_CLIENT_ID      the one client's id
//   OIDC_CLIENT_SECRET  its secret (client_secret_basic at the token endpoint)
//   OIDC_REDIRECT_URIS  its redirect URIs, space-separated
//   OIDC_POST_LOGOUT_REDIRECT_URIS  optional: where RP-initiated logout may send the browser
//                       back to, space-separated
//   OIDC_BACKCHANNEL_LOGOUT_URI  optional: the client's backchannel_logout_uri (OpenID
//                       Connect Back-Channel Logout 1.0, with backchannel_logout_session_required,
//                       so ID tokens and logout tokens carry sid); logging out at the
//                       end_session_endpoint then POSTs a logout token there
//   OIDC_JWT_CLIENT_ID    optional: a second client, with the same redirect URIs, that
//                         authenticates with private_key_jwt (RFC 7523)
//   OIDC_JWT_CLIENT_JWKS  its public keys, a JWK Set as JSON (required with the above)
//   OIDC_RESOURCE         optional: an API (RFC 8707 resource indicator) the provider issues
//                         access tokens for, with the scopes OIDC_RESOURCE_SCOPES
//                         (space-separated). It then also serves token introspection
//                         (RFC 7662; any confidential client may introspect) and the client
//                         credentials grant, for two more clients with the secret
//                         OIDC_SERVICE_CLIENT_SECRET (client_secret_basic):
//                         OIDC_SERVICE_CLIENT_ID gets JWT access tokens (RFC 9068, at+jwt,
//                         RS256) and OIDC_OPAQUE_CLIENT_ID opaque ones. Introspection
//                         requests are counted: GET /__test/introspections answers
//                         {"count": n}.
//
// Prints one line `LISTENING <issuer-url>` on stdout once it answers requests. Exits when
// stdin closes (the test that spawned it is gone) or on SIGTERM/SIGINT.
//
// Any login name signs in with any password (the built-in development interactions: a
// login form, then a consent form). The account's claims: sub = the login name,
// email = <login>@example.com (verified), name = "<Login> Example".

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import process from 'node:process';

import Provider, { errors } from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`server.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
}

const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUris = required('OIDC_REDIRECT_URIS').split(/\s+/).filter(Boolean);
const postLogoutRedirectUris = (process.env.OIDC_POST_LOGOUT_REDIRECT_URIS ?? '')
  .split(/\s+/)
  .filter(Boolean);
const backchannelLogoutUri = process.env.OIDC_BACKCHANNEL_LOGOUT_URI;
const jwtClientId = process.env.OIDC_JWT_CLIENT_ID;
const jwtClientJwks = jwtClientId ? JSON.parse(required('OIDC_JWT_CLIENT_JWKS')) : undefined;
const resource = process.env.OIDC_RESOURCE;
const resourceScopes = resource ? required('OIDC_RESOURCE_SCOPES') : undefined;
const serviceClientId = resource ? required('OIDC_SERVICE_CLIENT_ID') : undefined;
const opaqueClientId = resource ? required('OIDC_OPAQUE_CLIENT_ID') : undefined;
const serviceClientSecret = resource ? required('OIDC_SERVICE_CLIENT_SECRET') : undefined;
const port = Number.parseInt(process.env.OIDC_PORT ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`server.mjs: bad OIDC_PORT ${process.env.OIDC_PORT}`);
  process.exit(2);
}

function shutdown() {
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();

// Bind first: the issuer URL needs the port, and the Provider needs the issuer.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

// A fresh signing key per run, rather than oidc-provider's published development keys.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const capitalized = (s) => s.charAt(0).toUpperCase() + s.slice(1);

// The service clients of OIDC_RESOURCE: the client credentials grant only.
const serviceClient = (clientId) => ({
  client_id: clientId,
  client_secret: serviceClientSecret,
  redirect_uris: [],
  response_types: [],
  grant_types: ['client_credentials'],
  token_endpoint_auth_method: 'client_secret_basic',
});

// What OIDC_RESOURCE is to the provider; any other resource indicator is refused.
async function getResourceServerInfo(ctx, indicator, client) {
  if (indicator !== resource) {
    throw new errors.InvalidTarget();
  }
  return {
    scope: resourceScopes,
    audience: resource,
    accessTokenTTL: 300,
    accessTokenFormat: client.clientId === opaqueClientId ? 'opaque' : 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(backchannelLogoutUri
        ? {
            backchannel_logout_uri: backchannelLogoutUri,
            backchannel_logout_session_required: true,
          }
        : {}),
    },
    ...(jwtClientId
      ? [
          {
            client_id: jwtClientId,
            redirect_uris: redirectUris,
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: jwtClientJwks,
          },
        ]
      : []),
    ...(resource ? [serviceClient(serviceClientId), serviceClient(opaqueClientId)] : []),
  ],
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.com`,
          email_verified: true,
          name: `${capitalized(id)} Example`,
        };
      },
    };
  },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  pkce: { required: () => true },
  features: {
    // The built-in login and consent pages; development only, which is what this is.
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
    // RP-initiated logout: its default pages ask the user to confirm the sign-out.
    rpInitiatedLogout: { enabled: true },
    // Back-Channel Logout: a logout token POSTed to each client of the ended session.
    backchannelLogout: { enabled: true },
    ...(resource
      ? {
          resourceIndicators: {
            enabled: true,
            getResourceServerInfo,
            // A login that names no resource gets an opaque token for userinfo, as before.
            defaultResource: (ctx, client, oneOf) => oneOf,
            useGrantedResource: () => false,
          },
          introspection: { enabled: true },
          clientCredentials: { enabled: true },
        }
      : {}),
  },
  // oidc-provider's own outgoing requests (the logout tokens) refuse special-use addresses
  // (SSRF protection); the app under test is on loopback, so that one check is dropped here.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return fetch(url, rest);
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
});

provider.on('server_error', (ctx, error) => console.error('server.mjs: server_error', error));
provider.on('grant.error', (ctx, error) => console.error('server.mjs: grant.error', error.message));
provider.on('backchannel.error', (ctx, error) => console.error('server.mjs: backchannel.error', error.message));

// Counts introspection requests, for the tests that check the layer's cache.
let introspections = 0;
const handle = provider.callback();
server.on('request', (req, res) => {
  const path = req.url.split('?')[0];
  if (resource && req.method === 'GET' && path === '/__test/introspections') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count: introspections }));
    return;
  }
  if (req.method === 'POST' && path === '/token/introspection') {
    introspections += 1;
  }
  handle(req, res);
});
process.stdout.write(`LISTENING ${issuer}\n`);
