/**
 * The HTTP API and the console against a real embedded node: JSON over java.net.http, and the
 * console in Debian's chromium driven by Selenium.
 */
package io.stepsize.service.http;
