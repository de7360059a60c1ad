/** The HTTP API's routes called in process, for `floe run` on a local engine. */
import { handleRequest } from "../http/routes.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { ApiClient, type ApiTransport } from "./api-client.ts";

/**
 * A client that calls the routes in process over `runtime` (the embedded engine, the local
 * cloud). Errors keep their stacks: the user runs the code and owns the engine.
 */
export function inProcessApi(runtime: Runtime, where: string): ApiClient {
  const transport: ApiTransport = async (method, path, body) => {
    const [pathname = "", search = ""] = path.split("?");
    const response = await handleRequest(runtime, {
      method,
      path: pathname,
      query: Object.fromEntries(new URLSearchParams(search)),
      headers: {},
      body: body === undefined ? undefined : JSON.stringify(body),
      caller: "local",
    }, { errorStacks: true });
    // The same JSON a server would send, so nothing differs from the network path.
    return { status: response.status, body: JSON.parse(JSON.stringify(response.body)) };
  };
  return new ApiClient(transport, where);
}
