/**
 * Paginators. In: the page just fetched (its URL, headers, body and records) and the paginator's
 * state. Out: the next page's URL and state, or none when the paginator says there is no more.
 * A short page ends a run only if the paginator agrees; an empty page always does.
 */
import type { Paginator } from "../config/pull-schema.ts";
import { getPath } from "../lib/paths.ts";

export interface PageState {
  url: string;
  offset?: number | undefined;
  pageNumber?: number | undefined;
}

export interface FetchedPage {
  url: string;
  headers: Headers;
  body: unknown;
  records: readonly unknown[];
}

/** The first page's URL and state: the paginator's own params on top of the resource's. */
export function firstPage(paginator: Paginator, url: URL): PageState {
  switch (paginator.type) {
    case "offset":
      url.searchParams.set(paginator.limitParam, String(paginator.limit));
      url.searchParams.set(paginator.offsetParam, "0");
      return { url: url.toString(), offset: 0 };
    case "page_number":
      url.searchParams.set(paginator.pageParam, String(paginator.basePage));
      return { url: url.toString(), pageNumber: paginator.basePage };
    default:
      return { url: url.toString() };
  }
}

export function nextPage(paginator: Paginator, page: FetchedPage, state: PageState): PageState | undefined {
  switch (paginator.type) {
    case "single_page":
      return undefined;
    case "header_link": {
      const next = linkNext(page.headers.get("link"));
      return next ? { url: new URL(next, page.url).toString() } : undefined;
    }
    case "json_link": {
      const next = getPath(page.body, paginator.nextPath);
      return typeof next === "string" && next !== "" ? { url: new URL(next, page.url).toString() } : undefined;
    }
    case "cursor": {
      if (paginator.hasMorePath !== undefined && getPath(page.body, paginator.hasMorePath) !== true) return undefined;
      if (page.records.length === 0) return undefined;
      const cursor = paginator.cursorPath ? getPath(page.body, paginator.cursorPath) : getPath(page.records.at(-1), paginator.recordField!);
      if (cursor === undefined || cursor === null || cursor === "") return undefined;
      const url = new URL(page.url);
      url.searchParams.set(paginator.param, String(cursor));
      return { url: url.toString() };
    }
    case "offset": {
      if (page.records.length === 0) return undefined;
      const offset = (state.offset ?? 0) + page.records.length;
      const total = paginator.totalPath ? Number(getPath(page.body, paginator.totalPath)) : undefined;
      if (total !== undefined && Number.isFinite(total) && offset >= total) return undefined;
      const url = new URL(page.url);
      url.searchParams.set(paginator.offsetParam, String(offset));
      return { url: url.toString(), offset };
    }
    case "page_number": {
      if (page.records.length === 0) return undefined;
      const current = state.pageNumber ?? paginator.basePage;
      const totalPages = paginator.totalPagesPath ? Number(getPath(page.body, paginator.totalPagesPath)) : undefined;
      const pagesSeen = current - paginator.basePage + 1;
      if (totalPages !== undefined && Number.isFinite(totalPages) && pagesSeen >= totalPages) return undefined;
      const url = new URL(page.url);
      url.searchParams.set(paginator.pageParam, String(current + 1));
      return { url: url.toString(), pageNumber: current + 1 };
    }
  }
}

/** The `rel="next"` target of an RFC 8288 Link header, if any. */
export function linkNext(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const rels = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2]!)?.[1]?.toLowerCase().split(/\s+/) ?? [];
    if (rels.includes("next")) return match[1];
  }
  return undefined;
}
