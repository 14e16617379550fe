/**
 * OAuth2 access tokens from a refresh token (RFC 6749 6), as OfflineIMAP does with
 * `oauth2_refresh_token`, `oauth2_client_id`, `oauth2_client_secret` and `oauth2_request_url`.
 *
 * @module
 */

import { ImapAuthError } from "../errors.ts";

/** What the token endpoint needs. */
export interface RefreshTokenRequest {
  /** Token endpoint, e.g. `https://oauth2.googleapis.com/token`. */
  readonly url: string;
  /** `oauth2_client_id`. */
  readonly clientId: string;
  /** `oauth2_client_secret`, when the provider needs one. */
  readonly clientSecret?: string;
  /** `oauth2_refresh_token`. */
  readonly refreshToken: string;
  /** For tests and proxies; defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Gives up after this many milliseconds (default 30 s). */
  readonly timeoutMs?: number;
}

/** An access token and when it expires. */
export interface AccessToken {
  /** The bearer token for XOAUTH2. */
  readonly accessToken: string;
  /** Expiry, when the endpoint said (`expires_in`). */
  readonly expiresAt?: Date;
}

/**
 * POSTs a `refresh_token` grant and returns the access token. Throws ImapAuthError with the
 * endpoint's `error` / `error_description` when refused; the secrets are never in the message.
 */
export async function refreshAccessToken(request: RefreshTokenRequest): Promise<AccessToken> {
  const body = new URLSearchParams({
    grant_type: "refresh_token",
    client_id: request.clientId,
    refresh_token: request.refreshToken,
  });
  if (request.clientSecret !== undefined) body.set("client_secret", request.clientSecret);
  const doFetch = request.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(request.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      signal: AbortSignal.timeout(request.timeoutMs ?? 30_000),
    });
  } catch (error) {
    throw new ImapAuthError(
      `Cannot get an OAuth2 access token from "${request.url}": ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object") json = parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  const token = json["access_token"];
  if (!response.ok || typeof token !== "string" || token === "") {
    const reason = [json["error"], json["error_description"]].filter((v) => typeof v === "string")
      .join(": ");
    throw new ImapAuthError(
      `Cannot get an OAuth2 access token from "${request.url}": HTTP ${response.status}${
        reason ? ` ${reason}` : typeof token === "string" ? "" : " (no access_token in the reply)"
      }`,
    );
  }
  const expiresIn = json["expires_in"];
  return {
    accessToken: token,
    expiresAt: typeof expiresIn === "number" ? new Date(Date.now() + expiresIn * 1000) : undefined,
  };
}
