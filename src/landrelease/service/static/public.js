// The public warning map: the map of map.js in public mode. Its requests carry no credentials,
// so that even a signed-in browser sees here what anyone sees: the public view (generalised
// outlines, status, hazard type and contamination), and the warning of what to do on a find.
"use strict";

document.addEventListener("DOMContentLoaded", () => start({ publicOnly: true }));
