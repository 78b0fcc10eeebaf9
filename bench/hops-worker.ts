/**
 * The queue-hop floor for the pull benchmark: `POST /start?n=100` sends one message that the
 * consumer passes along the queue `n` times, doing nothing else, as a pull run passes its page
 * task from page to page. `GET /status` answers whether the chain has finished. The hops happen
 * in the same `wrangler dev` as Sluice's, with the same consumer settings.
 */
interface HopEnv {
  HOPS: Queue<{ chain: string; left: number }>;
}

const finished = new Set<string>();

export default {
  async fetch(request: Request, env: HopEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ready") return new Response("ok");
    const chain = url.searchParams.get("chain") ?? "chain";
    if (url.pathname === "/start" && request.method === "POST") {
      await env.HOPS.send({ chain, left: Number(url.searchParams.get("n") ?? 100) - 1 });
      return new Response(null, { status: 202 });
    }
    if (url.pathname === "/status") return Response.json({ done: finished.has(chain) });
    return new Response("not found", { status: 404 });
  },

  async queue(batch: MessageBatch<{ chain: string; left: number }>, env: HopEnv): Promise<void> {
    for (const message of batch.messages) {
      const { chain, left } = message.body;
      if (left > 0) await env.HOPS.send({ chain, left: left - 1 });
      else finished.add(chain);
      message.ack();
    }
  },
};
