/* Sohoa object page: opens the scan's IIIF info.json in OpenSeadragon; no other library. */
(function () {
  "use strict";
  var element = document.getElementById("viewer");
  if (!element) { return; }
  var status = document.getElementById("viewer-status");
  // What the page did, for people (the status line) and for the browser tests.
  var state = window.sohoaViewer = { opened: 0, tilesLoaded: 0, tilesFailed: 0, error: null };

  function say(text) {
    if (!status) { return; }
    status.textContent = text;
    status.hidden = !text;
  }

  if (typeof window.OpenSeadragon !== "function") {
    say(element.getAttribute("data-missing"));
    return;
  }

  var viewer = window.OpenSeadragon({
    element: element,
    prefixUrl: element.getAttribute("data-images") || "",
    tileSources: element.getAttribute("data-info") || [],
    crossOriginPolicy: "Anonymous",
    showNavigator: true,
    navigatorPosition: "BOTTOM_RIGHT",
    showRotationControl: true,
    gestureSettingsTouch: { pinchRotate: false },
    visibilityRatio: 0.8,
    minZoomImageRatio: 0.8
  });
  window.sohoaViewer.viewer = viewer;
  viewer.addHandler("open", function () { state.opened += 1; say(""); });
  viewer.addHandler("tile-loaded", function () { state.tilesLoaded += 1; });
  viewer.addHandler("tile-load-failed", function () { state.tilesFailed += 1; });
  viewer.addHandler("open-failed", function (event) {
    state.error = String(event.message || "open failed");
    say("Không mở được ảnh phóng to. / The zoomable image could not be opened.");
  });

  var buttons = document.querySelectorAll("button.view");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      Array.prototype.forEach.call(buttons, function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      var info = button.getAttribute("data-info");
      if (info) {
        say("");
        viewer.open(info);
      } else {
        viewer.close();
        say("Mặt này chưa có ảnh phóng to. / This view has no zoomable image.");
      }
    });
  });
})();
