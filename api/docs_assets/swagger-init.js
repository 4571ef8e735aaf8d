// Starts Swagger UI on the element that names the OpenAPI document. A file, not an inline
// script, so that the page keeps its strict Content-Security-Policy (api/headers.py).
const element = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: element.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
