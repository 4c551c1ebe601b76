// OAuth 2.0 Form Post Response Mode: posts the authorization response to the service at
// once. Without JavaScript the page's button does the same.
document.getElementById("authorization-response").submit();
