// The API reference page: Swagger UI over the generated document (its address is on the element).
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  if (!element || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: element.getAttribute("data-spec-url"),
    domNode: element,
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
})();
