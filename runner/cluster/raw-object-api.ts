import { ApiException, HttpMethod, KubernetesObjectApi, PatchStrategy, type KubernetesObject, type ResponseContext } from "@kubernetes/client-node";

/**
 * KubernetesObjectApi that returns objects as the API sent them and applies
 * with server-side apply (the stock `patch` re-serializes bodies through the
 * model classes, which drops fields they do not know).
 */
export class RawObjectApi extends KubernetesObjectApi {
  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext, _type?: string): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return (text ? JSON.parse(text) : {}) as T;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    throw new ApiException(response.httpStatusCode, "Unsuccessful HTTP Request", body, response.headers);
  }

  async serverSideApply(object: KubernetesObject, fieldManager: string, force: boolean): Promise<KubernetesObject> {
    const path = await this.specUriPath(object, "patch");
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    context.setHeaderParam("Accept", "application/json");
    context.setHeaderParam("Content-Type", PatchStrategy.ServerSideApply);
    context.setQueryParam("fieldManager", fieldManager);
    if (force) context.setQueryParam("force", "true");
    context.setBody(JSON.stringify(object));
    return this.requestPromise(context);
  }
}
