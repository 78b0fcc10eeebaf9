/**
 * Authentication for REST pulls: bearer, API key (header or query), basic, and OAuth2 client
 * credentials with the token cached in the isolate until shortly before it expires. Secrets are
 * read from the settings by env var name and never logged.
 */
import type { Auth } from "../config/pull-schema.ts";
import type { Settings } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { fetchWithinOrigin } from "./request.ts";

const tokens = new Map<string, { token: string; expiresAt: number }>();

function secret(settings: Settings, name: string): string {
  const value = settings.secrets[name]?.[0];
  if (!value) throw new SluiceError("source_not_configured", `set the secret ${name} for this pull source`);
  return value;
}

/** Applies `auth` to a request's headers and URL. */
export async function authorize(auth: Auth | undefined, settings: Settings, headers: Headers, url: URL): Promise<void> {
  if (!auth) return;
  switch (auth.type) {
    case "bearer":
      headers.set("authorization", `Bearer ${secret(settings, auth.token)}`);
      return;
    case "api_key":
      if (auth.in === "query") url.searchParams.set(auth.name, secret(settings, auth.key));
      else headers.set(auth.name, secret(settings, auth.key));
      return;
    case "basic":
      headers.set("authorization", `Basic ${btoa(`${secret(settings, auth.username)}:${secret(settings, auth.password)}`)}`);
      return;
    case "oauth2_client_credentials":
      headers.set("authorization", `Bearer ${await clientCredentialsToken(auth, settings)}`);
      return;
  }
}

/** Forgets a cached OAuth2 token, after the API rejected it. */
export function forgetToken(auth: Auth | undefined): void {
  if (auth?.type === "oauth2_client_credentials") tokens.delete(`${auth.tokenUrl}|${auth.clientId}`);
}

async function clientCredentialsToken(auth: Extract<Auth, { type: "oauth2_client_credentials" }>, settings: Settings): Promise<string> {
  const id = `${auth.tokenUrl}|${auth.clientId}`;
  const cached = tokens.get(id);
  if (cached && cached.expiresAt > Date.now()) return cached.token;
  const body = new URLSearchParams({ grant_type: "client_credentials", ...(auth.scope ? { scope: auth.scope } : {}) });
  let response: Response;
  try {
    response = await fetchWithinOrigin(new URL(auth.tokenUrl), {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${secret(settings, auth.clientId)}:${secret(settings, auth.clientSecret)}`)}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body,
    });
  } catch (error) {
    if (error instanceof SluiceError)
      throw new SluiceError(error.code, `OAuth2 token request: ${error.message}`, { cause: error, retryable: error.retryable });
    throw error;
  }
  if (!response.ok) {
    throw new SluiceError(
      response.status >= 500 ? "storage_unavailable" : "unauthorized",
      `OAuth2 token request failed with ${response.status}`,
      {
        retryable: response.status >= 500 || response.status === 429,
      },
    );
  }
  const token = (await response.json()) as { access_token?: string; expires_in?: number };
  if (!token.access_token) throw new SluiceError("unauthorized", "OAuth2 token response has no access_token");
  // Renew a minute early so a token never expires mid-request.
  const lifetime = Math.max(0, (token.expires_in ?? 3600) - 60) * 1000;
  tokens.set(id, { token: token.access_token, expiresAt: Date.now() + lifetime });
  return token.access_token;
}
