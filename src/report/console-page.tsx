/**
 * The frame every console page shares: its CSP, its stylesheet, and the header with the console's
 * navigation (pipeline health, data quality) and the sign-out buttons. Pages put their sections in
 * it; nothing here reads data.
 */
import type { FC, PropsWithChildren } from "hono/jsx";
import { secureHeaders } from "hono/secure-headers";

// The pages' own CSP: their inline style, forms to this origin only, never framed.
export const pageHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'self'"], styleSrc: ["'unsafe-inline'"], formAction: ["'self'"], frameAncestors: ["'none'"] },
});

const style = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#10314d;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center;gap:16px}
header nav a{color:#fff;margin-right:16px;text-decoration:none;opacity:.8}header nav a[aria-current=page]{opacity:1;font-weight:600;border-bottom:2px solid #fff}
main{padding:16px 24px;display:grid;gap:16px}
section{background:#fff;border:1px solid #d9e1ea;border-radius:8px;padding:12px 16px}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 8px}h3{font-size:14px;margin:0 0 4px}
table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #eef2f6;text-align:left;vertical-align:top}
.ok{color:#1b7f3b}.warn{color:#a86400}.bad{color:#b3261e}.muted{color:#6b7c8f}
form.inline{display:inline}button{cursor:pointer;border:1px solid #10314d;background:#fff;border-radius:4px;padding:2px 8px}
a{color:#1d5a8f}
svg.monitor-chart{max-width:100%;height:auto;display:block}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
.card{border:1px solid #eef2f6;border-radius:6px;padding:8px;display:grid;grid-template-columns:320px 1fr;gap:12px}
.card ul{margin:0;padding-left:16px}
.legend span{margin-right:16px}.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
`;

export const Page: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <title>{title}</title>
      <style>{style}</style>
    </head>
    <body>{children}</body>
  </html>
);

const navigation = [
  { href: "/", label: "Pipeline health" },
  { href: "/quality", label: "Data quality" },
] as const;

/** A signed-in page: the console's header (navigation, sign out) above the page's sections. */
export const ConsolePage: FC<PropsWithChildren<{ title: string; current?: (typeof navigation)[number]["href"] }>> = ({
  title,
  current,
  children,
}) => (
  <Page title={`Sluice · ${title}`}>
    <header>
      <h1>Sluice · {title}</h1>
      <nav aria-label="console">
        {navigation.map((n) => (
          <a href={n.href} aria-current={n.href === current ? "page" : undefined}>
            {n.label}
          </a>
        ))}
      </nav>
      <div>
        <form class="inline" method="post" action="/sign-out">
          <button type="submit">Sign out</button>
        </form>{" "}
        <form class="inline" method="post" action="/sign-out-everywhere">
          <button type="submit" title="Ends every dashboard session, in every browser">
            Sign out everywhere
          </button>
        </form>
      </div>
    </header>
    <main>{children}</main>
  </Page>
);
