// Starts ReDoc on the element that names the OpenAPI document. ReDoc writes its styles into
// <style> elements: it marks them with this script's nonce, the one the page's policy allows.
const element = document.getElementById("redoc");
Redoc.init(element.dataset.openapiUrl, { nonce: document.currentScript.nonce }, element);
